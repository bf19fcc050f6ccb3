//! Cursor pagination over time-ordered ids.
//!
//! Lists are newest first. The cursor is the id of the last item of the previous page; because ids sort by
//! creation time, `id < cursor` is the next page whatever was inserted meanwhile.

use serde::Serialize;

/// The default and the largest page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size a caller may ask for.
pub const MAX_LIMIT: u32 = 200;

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Only items with an id strictly below this one (the previous page's `next_cursor`).
    pub cursor: Option<String>,
    /// How many items at most, 1 to [`MAX_LIMIT`].
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            cursor: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// One page of items.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that there is a next page.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Self {
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if has_more { rows.last().map(&id_of) } else { None };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
