//! Relay connections: `edges { cursor node }`, `nodes`, `pageInfo` and a `totalCount` that is
//! computed only when a client selects it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use stepgraph_domain::error::AppError;
use stepgraph_domain::service::pagination::{Cursor, Page, PageLimits};

/// Connection sizes: `first`/`last` default to 50 and may not exceed 100.
pub const LIMITS: PageLimits = PageLimits {
    default: 50,
    max: 100,
};

/// Information about the page of a connection. The cursors are encoded only when selected
/// (every nested page has one, and few clients read it).
#[derive(Clone, Debug, Default)]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start: Option<Cursor>,
    end: Option<Cursor>,
}

/// Information about the page of a connection.
#[async_graphql::Object]
impl PageInfo {
    /// Whether more items follow this page.
    async fn has_next_page(&self) -> bool {
        self.has_next_page
    }
    /// Whether items come before this page.
    async fn has_previous_page(&self) -> bool {
        self.has_previous_page
    }
    /// The cursor of the first item of the page.
    async fn start_cursor(&self) -> Option<String> {
        self.start.as_ref().map(Cursor::encode)
    }
    /// The cursor of the last item of the page.
    async fn end_cursor(&self) -> Option<String> {
        self.end.as_ref().map(Cursor::encode)
    }
}

type CountFuture = Pin<Box<dyn Future<Output = Result<i64, async_graphql::Error>> + Send>>;

/// A deferred `totalCount`: nothing runs unless the field is selected.
#[derive(Clone)]
pub struct Total(Arc<dyn Fn() -> CountFuture + Send + Sync>);

impl Total {
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<i64, async_graphql::Error>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(f())))
    }

    pub async fn get(&self) -> async_graphql::Result<i64> {
        (self.0)().await
    }
}

/// Splits a page into wire edges (built by `wrap`) and its page info.
///
/// Each edge keeps its [`Cursor`] unencoded: encoding (JSON, then base64) is done by the
/// edge's `cursor` resolver, so a client that selects `edges { node }` or `nodes` does not pay
/// for 50 cursors it never reads (about 2.6% of the nested list's instructions).
pub fn edges<M, N>(page: Page<M>, wrap: impl Fn(M) -> N) -> (Vec<(Cursor, N)>, PageInfo) {
    let info = PageInfo {
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
        start: page.rows.first().map(|(_, c)| c.clone()),
        end: page.rows.last().map(|(_, c)| c.clone()),
    };
    let edges = page.rows.into_iter().map(|(m, c)| (c, wrap(m))).collect();
    (edges, info)
}

/// A total count from a service count.
pub fn total_from(count: Result<u64, AppError>) -> Result<i64, async_graphql::Error> {
    count.map(|n| n as i64).map_err(crate::error::gql)
}

/// Complexity of a connection field: its children times the page size, saturating so a huge
/// or negative `first` can never overflow the analysis (it is rejected by validation anyway).
pub fn cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first
        .or(last)
        .unwrap_or(LIMITS.default as i32)
        .clamp(1, LIMITS.max as i32) as usize;
    n.saturating_mul(child).saturating_add(1)
}

/// A connection type built from a service page (implemented by `connection!`).
pub trait FromPage<M> {
    fn from_page(page: Page<M>, total: Total) -> Self;
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $what:literal) => {
        #[doc = concat!("An edge in a connection of ", $what, ".")]
        pub struct $edge {
            pub cursor: ::stepgraph_domain::service::pagination::Cursor,
            pub node: $node,
        }

        #[doc = concat!("An edge in a connection of ", $what, ".")]
        #[async_graphql::Object]
        impl $edge {
            /// A cursor for use in pagination.
            async fn cursor(&self) -> String {
                self.cursor.encode()
            }
            /// The item at the end of the edge.
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        /// The connection type's object, resolved through [`$crate::fast::Fast`] (which
        /// keeps its name): its `nodes` resolve in place when their items do.
        mod page {
            #[doc = concat!("A page of ", $what, ".")]
            pub struct $conn {
                pub edges: Vec<super::$edge>,
                pub page_info: $crate::connection::PageInfo,
                pub total: $crate::connection::Total,
            }

            /// No attributes: `nodes` and `edges` are lists of objects, `pageInfo` an
            /// object and `totalCount` waits.
            impl $crate::fast::Attributes for $conn {
                fn attribute(
                    &self,
                    _: &async_graphql::Context<'_>,
                ) -> Option<async_graphql::ServerResult<async_graphql::Value>> {
                    None
                }

                fn attribute_json(
                    &self,
                    _: &async_graphql::Context<'_>,
                    _: &mut Vec<u8>,
                ) -> Option<async_graphql::ServerResult<()>> {
                    None
                }

                fn is_attribute(_: &str) -> bool {
                    false
                }

                fn to_one_json(
                    &self,
                    _: &async_graphql::Context<'_>,
                    _: &$crate::RequestCtx,
                    _: &mut Vec<u8>,
                ) -> Option<async_graphql::ServerResult<()>> {
                    None
                }
            }
        }

        #[doc = concat!("A page of ", $what, ".")]
        pub type $conn = $crate::fast::Fast<page::$conn>;

        impl<M> $crate::connection::FromPage<M> for $conn
        where
            $node: From<M>,
        {
            fn from_page(
                page: ::stepgraph_domain::service::pagination::Page<M>,
                total: $crate::connection::Total,
            ) -> Self {
                let (edges, page_info) = $crate::connection::edges(page, <$node as From<M>>::from);
                let edges = edges
                    .into_iter()
                    .map(|(cursor, node)| $edge { cursor, node })
                    .collect();
                $crate::fast::Fast::new(page::$conn {
                    edges,
                    page_info,
                    total,
                })
            }
        }

        #[doc = concat!("A page of ", $what, ".")]
        #[async_graphql::Object]
        impl page::$conn {
            /// The edges of this page, each with its cursor.
            async fn edges(&self) -> &Vec<$edge> {
                &self.edges
            }
            /// The items of this page, without cursors.
            async fn nodes(&self) -> $crate::fast::List<'_, $node> {
                $crate::fast::List::new(self.edges.iter().map(|e| &e.node).collect())
            }
            /// Information to aid in pagination.
            async fn page_info(&self) -> &$crate::connection::PageInfo {
                &self.page_info
            }
            /// The number of items matching the filter, across all pages; computed only when selected.
            async fn total_count(&self) -> async_graphql::Result<i64> {
                self.total.get().await
            }
        }
    };
}
pub(crate) use connection;
