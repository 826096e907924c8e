//! Stable counting sort by a dense `u32` id (a key id), for the big arrays of the
//! version analysis: two sequential passes and one scatter, where a comparison sort
//! makes `log n` passes over arrays much bigger than the cache.

/// `items` sorted stably by `id(item)`, which must be below `ids`; and the offsets of
/// each id's run: the items of id `i` are `sorted[offsets[i]..offsets[i + 1]]`.
pub(crate) fn by_id<T: Copy>(
    items: &[T],
    ids: usize,
    id: impl Fn(&T) -> u32,
) -> (Vec<T>, Vec<usize>) {
    let mut sorted = Vec::new();
    let offsets = by_id_into(items, ids, id, &mut sorted);
    (sorted, offsets)
}

/// [`by_id`] into `sorted`, whose memory is reused: on big histories a fresh array means
/// fresh pages from the kernel (the allocator maps big blocks afresh each time).
pub(crate) fn by_id_into<T: Copy>(
    items: &[T],
    ids: usize,
    id: impl Fn(&T) -> u32,
    sorted: &mut Vec<T>,
) -> Vec<usize> {
    let mut offsets = vec![0usize; ids + 1];
    for item in items {
        offsets[id(item) as usize + 1] += 1;
    }
    for i in 0..ids {
        offsets[i + 1] += offsets[i];
    }
    sorted.clear();
    let Some(&first) = items.first() else {
        return offsets;
    };
    sorted.resize(items.len(), first);
    let mut fill = offsets.clone();
    for &item in items {
        let at = &mut fill[id(&item) as usize];
        sorted[*at] = item;
        *at += 1;
    }
    offsets
}

/// Sorts each id's run of `items` (laid out by [`by_id`]) with `sort`.
pub(crate) fn sort_runs<T>(items: &mut [T], offsets: &[usize], mut sort: impl FnMut(&mut [T])) {
    for run in offsets.windows(2) {
        if run[1] - run[0] > 1 {
            sort(&mut items[run[0]..run[1]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably_by_id_and_gives_each_ids_run() {
        let items = [(2, 'a'), (0, 'b'), (2, 'c'), (1, 'd'), (0, 'e')];
        let (sorted, offsets) = by_id(&items, 4, |x| x.0);
        assert_eq!(sorted, vec![(0, 'b'), (0, 'e'), (1, 'd'), (2, 'a'), (2, 'c')]);
        assert_eq!(offsets, vec![0, 2, 3, 5, 5]);
        let (empty, offsets) = by_id(&[] as &[(u32, char)], 2, |x| x.0);
        assert!(empty.is_empty());
        assert_eq!(offsets, vec![0, 0, 0]);
    }
}
