//! Query parameters as Outreach's API v2 takes them: `filter[...]`, `sort`, `page[size]`,
//! `page[after]` / `page[before]`, `include`, `fields[type]`, `count` and
//! `provideAuthorizationMeta`, plus the value syntax of filters (`a,b` lists, `a..b` ranges
//! with `neginf` / `inf`, dates and RFC 3339 date-times).
//!
//! Nothing is ignored silently: an unknown parameter, a parameter the route does not take, a
//! repeated parameter or a malformed value is an [`ApiError`] naming the parameter in
//! `source.parameter`. Which filters, sort fields, include paths and fieldsets exist depends
//! on the resource; [`crate::resources`] checks those.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sea_orm::ActiveEnum;

use crate::error::ApiError;
use stepgraph_domain::service::filters::Range;

/// The most include paths, and the deepest one (`a.b.c`).
pub const MAX_INCLUDE_PATHS: usize = 20;
pub const MAX_INCLUDE_DEPTH: usize = 3;

/// What a route accepts besides `include`, `fields` and `provideAuthorizationMeta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A collection: also `filter`, `sort`, `page` and `count`.
    Collection,
    /// One resource (GET, or the answer to a write).
    Single,
    /// A write: `include` was removed from Outreach's writes, so it is refused here too.
    Write,
}

/// The parsed query string of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// `filter[a][b]=v`: the path inside the brackets, the raw value, and the parameter's name
    /// as the client wrote it (for error messages).
    pub filters: Vec<Filter>,
    /// `sort=a,-b`: (attribute, descending).
    pub sort: Vec<(String, bool)>,
    pub page_size: Option<i64>,
    pub page_after: Option<String>,
    pub page_before: Option<String>,
    /// `include=a,a.b`: each path as its segments.
    pub include: Vec<Vec<String>>,
    /// `fields[type]=a,b`.
    pub fields: HashMap<String, Vec<String>>,
    pub count: bool,
    pub authorization_meta: bool,
    /// Every pair as received (decoded), to build pagination links from.
    pub pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub path: Vec<String>,
    pub value: String,
    pub parameter: String,
}

/// Splits `filter[a][b]` into `filter` and `[a, b]`; `None` when the brackets are malformed.
fn split_key(key: &str) -> Option<(&str, Vec<&str>)> {
    let (name, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if name.is_empty() {
        return None;
    }
    let mut segments = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let segment = &inner[..end];
        if segment.is_empty() || segment.contains('[') {
            return None;
        }
        segments.push(segment);
        rest = &inner[end + 1..];
    }
    Some((name, segments))
}

fn bad_request(parameter: &str, detail: impl Into<String>) -> ApiError {
    ApiError::parameter(400, parameter, detail)
}

fn invalid(parameter: &str, detail: impl Into<String>) -> ApiError {
    ApiError::parameter(422, parameter, detail)
}

fn boolean(parameter: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(
            parameter,
            format!("{value:?} is not a boolean: use true or false"),
        )),
    }
}

/// Parses a query string for a route. A filter takes at most `max_values` comma-separated
/// values (`STEPGRAPH_MAX_LIST_ITEMS`): work is bounded before it starts.
pub fn parse(raw: Option<&str>, route: Route, max_values: usize) -> Result<Params, ApiError> {
    let mut params = Params::default();
    let mut seen = std::collections::HashMap::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        // A parameter repeated with the same value says nothing new: Outreach clients send
        // `links.next` back with their first page's parameters appended again (tap-outreach
        // does), so the repeat is skipped. Two different values are ambiguous: refused.
        match seen.get(&key) {
            Some(first) if *first == value => continue,
            Some(_) => {
                return Err(bad_request(
                    &key,
                    "is given more than once with different values; pass several values \
                     comma-separated",
                ));
            }
            None => {
                seen.insert(key.clone(), value.clone());
            }
        }
        let Some((name, segments)) = split_key(&key) else {
            return Err(bad_request(
                &key,
                "is not a parameter name like filter[attribute] or page[size]",
            ));
        };
        let collection_only = |p: &str| -> Result<(), ApiError> {
            if route == Route::Collection {
                Ok(())
            } else {
                Err(bad_request(p, "only applies to collections"))
            }
        };
        match (name, segments.as_slice()) {
            ("filter", [_, ..]) => {
                collection_only(&key)?;
                if segments.len() > 3 {
                    return Err(invalid(&key, "nests too deeply"));
                }
                let n = value.split(',').count();
                if n > max_values {
                    return Err(invalid(
                        &key,
                        format!(
                            "takes at most {max_values} values (got {n}; STEPGRAPH_MAX_LIST_ITEMS)"
                        ),
                    ));
                }
                params.filters.push(Filter {
                    path: segments.iter().map(|s| s.to_string()).collect(),
                    value: value.clone(),
                    parameter: key.clone(),
                });
            }
            ("sort", []) => {
                collection_only(&key)?;
                params.sort = value
                    .split(',')
                    .map(|s| match s.strip_prefix('-') {
                        Some(name) => (name.to_string(), true),
                        None => (s.to_string(), false),
                    })
                    .collect();
                if params.sort.iter().any(|(name, _)| name.is_empty()) {
                    return Err(bad_request(&key, "names an empty sort field"));
                }
            }
            ("page", ["size"]) => {
                collection_only(&key)?;
                let size = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| invalid(&key, "must be a whole number from 1 to 1000"))?;
                params.page_size = Some(size);
            }
            ("page", ["after"]) => {
                collection_only(&key)?;
                params.page_after = Some(value.clone());
            }
            ("page", ["before"]) => {
                collection_only(&key)?;
                params.page_before = Some(value.clone());
            }
            ("page", ["limit" | "offset"]) => {
                return Err(invalid(
                    &key,
                    "offset pages are not supported: use page[size] and follow links.next (page[after])",
                ));
            }
            ("include", []) => {
                if route == Route::Write {
                    return Err(bad_request(&key, "is not supported on writes"));
                }
                for path in value.split(',') {
                    let segments: Vec<String> = path.split('.').map(str::to_string).collect();
                    if segments.iter().any(String::is_empty) {
                        return Err(bad_request(&key, format!("{path:?} is not a path")));
                    }
                    if segments.len() > MAX_INCLUDE_DEPTH {
                        return Err(bad_request(
                            &key,
                            format!("{path:?} is deeper than {MAX_INCLUDE_DEPTH} relationships"),
                        ));
                    }
                    if !params.include.contains(&segments) {
                        params.include.push(segments);
                    }
                }
                if params.include.len() > MAX_INCLUDE_PATHS {
                    return Err(bad_request(
                        &key,
                        format!("takes at most {MAX_INCLUDE_PATHS} paths"),
                    ));
                }
            }
            ("fields", [ty]) => {
                let names = if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(',').map(str::to_string).collect()
                };
                params.fields.insert(ty.to_string(), names);
            }
            ("count", []) => {
                collection_only(&key)?;
                params.count = boolean(&key, &value)?;
            }
            ("provideAuthorizationMeta", []) => {
                params.authorization_meta = boolean(&key, &value)?;
            }
            ("newFilterSyntax", []) => {
                return Err(invalid(
                    &key,
                    "is not supported: use filter[attribute]=a..b ranges",
                ));
            }
            _ => return Err(bad_request(&key, "is not a parameter this API knows")),
        }
        params.pairs.push((key, value));
    }
    Ok(params)
}

// --- filter values ---------------------------------------------------------------------------

/// The comma-separated values of a list filter (OR); [`parse`] has bounded their number.
pub fn list<T>(
    value: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(|p| parse(p).ok_or_else(|| format!("{p:?} is not {what}")))
        .collect()
}

/// Ids: positive integers.
pub fn ids(value: &str) -> Result<Vec<i64>, String> {
    list(value, "an id", |s| s.parse::<i64>().ok().filter(|n| *n > 0))
}

/// Strings, taken as they are.
pub fn strings(value: &str) -> Result<Vec<String>, String> {
    list(value, "a value", |s| Some(s.to_string()))
}

/// Enum values in their wire form (`auto_email`, `shared`, ...).
pub fn enums<E: ActiveEnum<Value = String> + sea_orm::Iterable>(
    value: &str,
) -> Result<Vec<E>, String> {
    let allowed = || {
        E::iter()
            .map(|e| e.to_value())
            .collect::<Vec<_>>()
            .join(", ")
    };
    value
        .split(',')
        .map(|s| {
            E::try_from_value(&s.to_string())
                .map_err(|_| format!("{s:?} is not one of {}", allowed()))
        })
        .collect()
}

pub fn flag(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{value:?} is not true or false")),
    }
}

/// An inclusive range `a..b` (`neginf` / `inf` or an empty side for an open end), or a single
/// value `a` meaning `a..a`.
fn range<T>(
    value: &str,
    min: impl Fn(&str) -> Option<T>,
    max: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Range<T>, String> {
    let side = |s: &str, open: &str, parse: &dyn Fn(&str) -> Option<T>| {
        if s.is_empty() || s == open {
            Ok(None)
        } else {
            parse(s)
                .map(Some)
                .ok_or_else(|| format!("{s:?} is not {what}"))
        }
    };
    match value.split_once("..") {
        Some((a, b)) => Ok(Range {
            min: side(a, "neginf", &min)?,
            max: side(b, "inf", &max)?,
        }),
        None if value.contains(',') => Err(format!(
            "takes one value or a range a..b, not a list ({value:?})"
        )),
        None => Ok(Range {
            min: side(value, "neginf", &min)?,
            max: side(value, "inf", &max)?,
        }),
    }
}

pub fn int_range(value: &str) -> Result<Range<i32>, String> {
    let int = |s: &str| s.parse::<i32>().ok();
    range(value, int, int, "a whole number")
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub fn date_range(value: &str) -> Result<Range<NaiveDate>, String> {
    range(value, date, date, "a date like 2026-12-31")
}

/// How much later than the instant it names a date-time's text still means: the rest of its
/// last digit's unit, down to the microsecond we store (`...:00Z` a whole second,
/// `...:00.123Z` a whole millisecond, six digits or more nothing).
fn unit_rest(s: &str) -> chrono::Duration {
    let after_seconds = s.get(19..).unwrap_or_default();
    let digits = after_seconds
        .strip_prefix('.')
        .map_or(0, |f| f.chars().take_while(char::is_ascii_digit).count());
    let micros = 10_i64.pow(6u32.saturating_sub(digits as u32)) - 1;
    chrono::Duration::microseconds(micros.max(0))
}

/// RFC 3339 (with or without fractional seconds, any number of digits), or a plain date. An
/// upper bound covers its whole last unit, as a date covers its day: `..2026-01-31` includes
/// the 31st, and `..2026-10-01T09:00:00.123Z` (a value /api/v2 rendered, truncated from
/// microseconds) includes every instant of that millisecond, so a row read back by its own
/// `updatedAt` is always in the range.
pub fn time_range(value: &str) -> Result<Range<DateTime<Utc>>, String> {
    let instant = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    };
    let start =
        |s: &str| instant(s).or_else(|| date(s).map(|d| d.and_time(NaiveTime::MIN).and_utc()));
    let end = |s: &str| {
        instant(s).map(|t| t + unit_rest(s)).or_else(|| {
            date(s).and_then(|d| {
                NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).map(|t| d.and_time(t).and_utc())
            })
        })
    };
    range(
        value,
        start,
        end,
        "a date-time like 2026-01-01T00:00:00.000Z (or a date)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_take_every_precision_and_an_upper_bound_covers_its_unit() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        for (value, min, max) in [
            (
                "2026-10-01T09:00:00.123Z..inf",
                Some("2026-10-01T09:00:00.123Z"),
                None,
            ),
            (
                "neginf..2026-10-01T09:00:00.123Z",
                None,
                Some("2026-10-01T09:00:00.123999Z"),
            ),
            (
                "2026-10-01T09:00:00Z..2026-10-01T09:00:00Z",
                Some("2026-10-01T09:00:00Z"),
                Some("2026-10-01T09:00:00.999999Z"),
            ),
            (
                "2026-10-01T09:00:00.123456Z..2026-10-01T09:00:00.123456Z",
                Some("2026-10-01T09:00:00.123456Z"),
                Some("2026-10-01T09:00:00.123456Z"),
            ),
            (
                "2026-10-01T11:00:00.5+02:00..2026-10-02",
                Some("2026-10-01T09:00:00.5Z"),
                Some("2026-10-02T23:59:59.999999Z"),
            ),
        ] {
            let r = time_range(value).unwrap();
            assert_eq!(r.min, min.map(at), "{value}");
            assert_eq!(r.max, max.map(at), "{value}");
        }
    }

    #[test]
    fn keys_split_into_name_and_brackets() {
        assert_eq!(
            split_key("filter[sequence][id]"),
            Some(("filter", vec!["sequence", "id"]))
        );
        assert_eq!(split_key("sort"), Some(("sort", vec![])));
        for bad in ["filter[", "filter[]", "[a]", "filter[a]x", "filter[a[b]]"] {
            assert_eq!(split_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_take_open_ends_and_single_values() {
        let r = int_range("2..inf").unwrap();
        assert_eq!((r.min, r.max), (Some(2), None));
        let r = int_range("neginf..5").unwrap();
        assert_eq!((r.min, r.max), (None, Some(5)));
        let r = int_range("3").unwrap();
        assert_eq!((r.min, r.max), (Some(3), Some(3)));
        assert!(int_range("1,2").is_err());
        assert!(int_range("a..2").is_err());
        let r = time_range("2023-01-01T00:00:00.000000Z..inf").unwrap();
        assert_eq!(r.min.unwrap().to_rfc3339(), "2023-01-01T00:00:00+00:00");
        let r = time_range("..2023-01-31").unwrap();
        assert_eq!(
            r.max.unwrap().to_rfc3339(),
            "2023-01-31T23:59:59.999999+00:00"
        );
    }

    #[test]
    fn repeated_unknown_and_misplaced_parameters_are_refused() {
        let err = parse(Some("sort=order&sort=id"), Route::Collection, 1000).unwrap_err();
        assert_eq!(err.status(), 400);
        // The same value twice is the same request.
        let p = parse(
            Some("sort=order&page[size]=5&sort=order&page%5Bsize%5D=5"),
            Route::Collection,
            1000,
        )
        .unwrap();
        assert_eq!(p.page_size, Some(5));
        let err = parse(Some("colour=red"), Route::Collection, 1000).unwrap_err();
        assert_eq!(err.status(), 400);
        let err = parse(Some("page[size]=5"), Route::Single, 1000).unwrap_err();
        assert_eq!(err.status(), 400);
        let err = parse(Some("page[size]=1001"), Route::Collection, 1000).unwrap_err();
        assert_eq!(err.status(), 422);
        let p = parse(
            Some("filter%5Bsequence%5D%5Bid%5D=1,2&sort=-order&page[size]=5&include=sequence,sequenceTemplates.template&fields[sequenceStep]=order&count=true"),
            Route::Collection,
            1000,
        )
        .unwrap();
        assert_eq!(p.filters[0].path, ["sequence", "id"]);
        assert_eq!(p.sort, [("order".to_string(), true)]);
        assert_eq!(p.page_size, Some(5));
        assert_eq!(p.include.len(), 2);
        assert!(p.count);
    }
}
