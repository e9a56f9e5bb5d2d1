//! The SDK's `query.Paginate` over an in-memory, key-ordered listing: the
//! same defaults (100 items, totals counted when no limit is given), the
//! same `next_key` (the store key of the first item not returned, relative to
//! the listing's prefix) and the same refusals, so that clients paging
//! through balances with `key` or `offset` get what they get from an SDK
//! chain.

use ibc_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};

use super::error::{QResult, QueryError};

/// `query.DefaultLimit`.
pub const DEFAULT_LIMIT: u64 = 100;

/// One page of `items` (sorted ascending by their relative store key).
pub fn paginate<T>(items: Vec<(Vec<u8>, T)>, req: Option<&PageRequest>) -> QResult<(Vec<T>, PageResponse)> {
    let default = PageRequest::default();
    let req = req.unwrap_or(&default);
    if !req.key.is_empty() && req.offset > 0 {
        return Err(QueryError::invalid(
            "paginate: invalid request, either offset or key is expected, got both",
        ));
    }
    let (limit, count_total) = match req.limit {
        0 => (DEFAULT_LIMIT, true),
        l => (l, req.count_total),
    };
    let mut items = items;
    if req.reverse {
        items.reverse();
    }
    let total = items.len() as u64;
    let start = if req.key.is_empty() {
        req.offset.min(total) as usize
    } else if req.reverse {
        items.partition_point(|(k, _)| k.as_slice() > req.key.as_slice())
    } else {
        items.partition_point(|(k, _)| k.as_slice() < req.key.as_slice())
    };
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(items.len());
    let next_key = items.get(end).map(|(k, _)| k.clone()).unwrap_or_default();
    let page = items.drain(start..end).map(|(_, t)| t).collect();
    Ok((
        page,
        PageResponse {
            next_key,
            // The SDK counts only on offset pages: a key page cannot know
            // what lies before it without scanning.
            total: if req.key.is_empty() && count_total {
                total
            } else {
                0
            },
        },
    ))
}

/// Offset/limit paging of a listing without store keys (validator sets):
/// as the SDK's tendermint service, always with the total and no next key.
pub fn offset_page<T>(items: Vec<T>, req: Option<&PageRequest>) -> QResult<(Vec<T>, PageResponse)> {
    if req.is_some_and(|r| !r.key.is_empty()) {
        return Err(QueryError::invalid(
            "key pagination is not supported here; use offset and limit",
        ));
    }
    let total = items.len() as u64;
    let keyed = items
        .into_iter()
        .enumerate()
        .map(|(i, t)| ((i as u64).to_be_bytes().to_vec(), t))
        .collect();
    let (page, _) = paginate(keyed, req)?;
    Ok((
        page,
        PageResponse {
            next_key: Vec::new(),
            total,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: u8) -> Vec<(Vec<u8>, u8)> {
        (0..n).map(|i| (vec![b'a' + i], i)).collect()
    }

    fn req(key: &[u8], offset: u64, limit: u64, count_total: bool, reverse: bool) -> PageRequest {
        PageRequest {
            key: key.to_vec(),
            offset,
            limit,
            count_total,
            reverse,
        }
    }

    #[test]
    fn defaults_count_totals() {
        let (page, resp) = paginate(items(3), None).unwrap();
        assert_eq!(page, vec![0, 1, 2]);
        assert_eq!(
            resp,
            PageResponse {
                next_key: vec![],
                total: 3
            }
        );
    }

    #[test]
    fn key_pages_walk_the_listing() {
        let (page, resp) = paginate(items(5), Some(&req(b"", 0, 2, false, false))).unwrap();
        assert_eq!(
            (page, resp.next_key.clone(), resp.total),
            (vec![0, 1], b"c".to_vec(), 0)
        );
        let (page, resp) = paginate(items(5), Some(&req(&resp.next_key, 0, 2, true, false))).unwrap();
        assert_eq!(
            (page, resp.next_key.clone(), resp.total),
            (vec![2, 3], b"e".to_vec(), 0)
        );
        let (page, resp) = paginate(items(5), Some(&req(&resp.next_key, 0, 2, false, false))).unwrap();
        assert_eq!((page, resp.next_key), (vec![4], vec![]));
    }

    #[test]
    fn offsets_reverse_and_refusals() {
        let (page, resp) = paginate(items(5), Some(&req(b"", 3, 10, true, false))).unwrap();
        assert_eq!((page, resp.total), (vec![3, 4], 5));
        let (page, resp) = paginate(items(5), Some(&req(b"", 0, 2, false, true))).unwrap();
        assert_eq!((page, resp.next_key.clone()), (vec![4, 3], b"c".to_vec()));
        let (page, _) = paginate(items(5), Some(&req(&resp.next_key, 0, 2, false, true))).unwrap();
        assert_eq!(page, vec![2, 1]);
        assert!(paginate(items(5), Some(&req(b"c", 1, 2, false, false))).is_err());
        let (page, resp) = paginate(items(2), Some(&req(b"", 9, 2, true, false))).unwrap();
        assert_eq!((page, resp.total), (vec![], 2));
    }

    #[test]
    fn offset_pages_have_no_keys() {
        let (page, resp) = offset_page(vec![1, 2, 3], Some(&req(b"", 1, 1, false, false))).unwrap();
        assert_eq!((page, resp.next_key, resp.total), (vec![2], vec![], 3));
        assert!(offset_page(vec![1], Some(&req(b"x", 0, 1, false, false))).is_err());
    }
}
