//! Who is calling ([`Viewer`]), what they may do ([`policy`]) and how they prove it ([`tokens`],
//! or an identity provider's JWT: [`oidc`]).

pub mod oidc;
pub mod policy;
pub mod tokens;

use entity::enums::Role;

/// The authenticated user a request acts for. Every service call that reads or writes on
/// someone's behalf takes one, so authorization can never be forgotten by an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Viewer {
    pub user_id: i64,
    pub role: Role,
}
