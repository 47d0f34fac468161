//! Operations on postings lists: sorted, duplicate-free series ordinals (`u32` in a block's
//! index, `u64` series ids in the head's).

/// Series present in both lists.
pub fn intersect<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Series of `a` that are not in `b`.
pub fn subtract<T: Ord + Copy>(a: &[T], b: &[T]) -> Vec<T> {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

/// Series present in any of the lists.
pub fn union(lists: Vec<Vec<u32>>) -> Vec<u32> {
    match lists.len() {
        0 => Vec::new(),
        1 => lists.into_iter().next().unwrap_or_default(),
        _ => {
            let mut all: Vec<u32> = lists.into_iter().flatten().collect();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 7, 9]), vec![3, 7]);
        assert_eq!(subtract(&[1, 3, 5, 7], &[2, 3, 7, 9]), vec![1, 5]);
        assert_eq!(union(vec![vec![1, 5], vec![2, 5, 9], vec![]]), vec![1, 2, 5, 9]);
        assert_eq!(union(vec![]), Vec::<u32>::new());
        assert_eq!(intersect(&[], &[1]), Vec::<u32>::new());
        assert_eq!(subtract(&[1, 2], &[]), vec![1, 2]);
    }
}
