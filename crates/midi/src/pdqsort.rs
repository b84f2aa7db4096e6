//! The unstable sort symusic orders a file's tempo and time signature changes with, so that
//! changes on one tick come out in the same order (and "the last one wins" picks the same one).
//!
//! symusic 0.6.0 collects these events track after track in file order, then calls
//! `pdqsort_branchless` (Orson Peters' pattern-defeating quicksort, `orlp/pdqsort` at
//! b1ef26a, zlib licence) comparing the time only. pdqsort is not stable: with many changes on
//! a few ticks (tempo automation) it reorders equal times in ways a stable sort does not. This
//! is a line-by-line port of that header's branchless path, including its heapsort fallback
//! (libstdc++'s `make_heap` + `sort_heap`, which the header calls), on indices instead of
//! iterators. Every move, swap and comparison happens in the same order as in C++, so the
//! result is identical element for element.

/// Partitions below this size are sorted using insertion sort.
const INSERTION_SORT_THRESHOLD: usize = 24;
/// Partitions above this size use Tukey's ninther to select the pivot.
const NINTHER_THRESHOLD: usize = 128;
/// Element moves a partial insertion sort may make before it gives up.
const PARTIAL_INSERTION_SORT_LIMIT: usize = 8;
/// Elements per offset block of the branchless partition.
const BLOCK_SIZE: usize = 64;

/// Sorts `v` by `key` exactly as symusic's `pdqsort_branchless(begin, end, a.time < b.time)`.
pub(crate) fn sort_by_time<T: Copy>(v: &mut [T], key: impl Fn(&T) -> u32) {
    if v.is_empty() {
        return;
    }
    let less = |a: &T, b: &T| key(a) < key(b);
    let bad_allowed = v.len().ilog2() as i32;
    pdqsort_loop(v, 0, v.len(), &less, bad_allowed, true);
}

fn pdqsort_loop<T: Copy>(
    v: &mut [T],
    mut begin: usize,
    end: usize,
    less: &impl Fn(&T, &T) -> bool,
    mut bad_allowed: i32,
    mut leftmost: bool,
) {
    loop {
        let size = end - begin;
        if size < INSERTION_SORT_THRESHOLD {
            insertion_sort(v, begin, end, less, !leftmost);
            return;
        }
        // Pivot: median of 3, or pseudomedian of 9.
        let s2 = size / 2;
        if size > NINTHER_THRESHOLD {
            sort3(v, begin, begin + s2, end - 1, less);
            sort3(v, begin + 1, begin + (s2 - 1), end - 2, less);
            sort3(v, begin + 2, begin + (s2 + 1), end - 3, less);
            sort3(v, begin + (s2 - 1), begin + s2, begin + (s2 + 1), less);
            v.swap(begin, begin + s2);
        } else {
            sort3(v, begin + s2, begin, end - 1, less);
        }
        // The pivot equals the end of a previous partition: put equal elements on the left,
        // which is sorted then (all equal).
        if !leftmost && !less(&v[begin - 1], &v[begin]) {
            begin = partition_left(v, begin, end, less) + 1;
            continue;
        }
        let (pivot_pos, already_partitioned) = partition_right_branchless(v, begin, end, less);
        let l_size = pivot_pos - begin;
        let r_size = end - (pivot_pos + 1);
        if l_size < size / 8 || r_size < size / 8 {
            bad_allowed -= 1;
            if bad_allowed == 0 {
                heap_sort(&mut v[begin..end], less);
                return;
            }
            if l_size >= INSERTION_SORT_THRESHOLD {
                v.swap(begin, begin + l_size / 4);
                v.swap(pivot_pos - 1, pivot_pos - l_size / 4);
                if l_size > NINTHER_THRESHOLD {
                    v.swap(begin + 1, begin + (l_size / 4 + 1));
                    v.swap(begin + 2, begin + (l_size / 4 + 2));
                    v.swap(pivot_pos - 2, pivot_pos - (l_size / 4 + 1));
                    v.swap(pivot_pos - 3, pivot_pos - (l_size / 4 + 2));
                }
            }
            if r_size >= INSERTION_SORT_THRESHOLD {
                v.swap(pivot_pos + 1, pivot_pos + (1 + r_size / 4));
                v.swap(end - 1, end - r_size / 4);
                if r_size > NINTHER_THRESHOLD {
                    v.swap(pivot_pos + 2, pivot_pos + (2 + r_size / 4));
                    v.swap(pivot_pos + 3, pivot_pos + (3 + r_size / 4));
                    v.swap(end - 2, end - (1 + r_size / 4));
                    v.swap(end - 3, end - (2 + r_size / 4));
                }
            }
        } else if already_partitioned
            && partial_insertion_sort(v, begin, pivot_pos, less)
            && partial_insertion_sort(v, pivot_pos + 1, end, less)
        {
            return;
        }
        pdqsort_loop(v, begin, pivot_pos, less, bad_allowed, leftmost);
        begin = pivot_pos + 1;
        leftmost = false;
    }
}

/// Insertion sort of `v[begin..end]`; `unguarded` relies on `v[begin - 1]` being no greater
/// than any element (it then never checks for `begin`, as the C++ does not).
fn insertion_sort<T: Copy>(
    v: &mut [T],
    begin: usize,
    end: usize,
    less: &impl Fn(&T, &T) -> bool,
    unguarded: bool,
) {
    if begin == end {
        return;
    }
    for cur in begin + 1..end {
        if less(&v[cur], &v[cur - 1]) {
            shift_left(v, begin, cur, less, unguarded);
        }
    }
}

/// Moves `v[cur]` (smaller than `v[cur - 1]`) left to its place in the sorted `v[begin..cur]`;
/// returns where it lands.
fn shift_left<T: Copy>(
    v: &mut [T],
    begin: usize,
    cur: usize,
    less: &impl Fn(&T, &T) -> bool,
    unguarded: bool,
) -> usize {
    let tmp = v[cur];
    let mut sift = cur;
    loop {
        v[sift] = v[sift - 1];
        sift -= 1;
        if !((unguarded || sift != begin) && less(&tmp, &v[sift - 1])) {
            break;
        }
    }
    v[sift] = tmp;
    sift
}

/// Insertion sort that gives up (returns false) after more than
/// [`PARTIAL_INSERTION_SORT_LIMIT`] moves.
fn partial_insertion_sort<T: Copy>(
    v: &mut [T],
    begin: usize,
    end: usize,
    less: &impl Fn(&T, &T) -> bool,
) -> bool {
    if begin == end {
        return true;
    }
    let mut limit = 0;
    for cur in begin + 1..end {
        if less(&v[cur], &v[cur - 1]) {
            limit += cur - shift_left(v, begin, cur, less, false);
        }
        if limit > PARTIAL_INSERTION_SORT_LIMIT {
            return false;
        }
    }
    true
}

fn sort2<T: Copy>(v: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    if less(&v[b], &v[a]) {
        v.swap(a, b);
    }
}

fn sort3<T: Copy>(v: &mut [T], a: usize, b: usize, c: usize, less: &impl Fn(&T, &T) -> bool) {
    sort2(v, a, b, less);
    sort2(v, b, c, less);
    sort2(v, a, b, less);
}

/// Moves the elements at `first + offsets_l[i]` and `last - offsets_r[i]` across: swaps when
/// `use_swaps`, else one cyclic permutation (as the C++ does).
fn swap_offsets<T: Copy>(
    v: &mut [T],
    first: usize,
    last: usize,
    offsets_l: &[u8],
    offsets_r: &[u8],
    use_swaps: bool,
) {
    let num = offsets_l.len();
    if use_swaps {
        for i in 0..num {
            v.swap(first + offsets_l[i] as usize, last - offsets_r[i] as usize);
        }
    } else if num > 0 {
        let mut l = first + offsets_l[0] as usize;
        let mut r = last - offsets_r[0] as usize;
        let tmp = v[l];
        v[l] = v[r];
        for i in 1..num {
            l = first + offsets_l[i] as usize;
            v[r] = v[l];
            r = last - offsets_r[i] as usize;
            v[l] = v[r];
        }
        v[r] = tmp;
    }
}

/// Partitions `v[begin..end]` around the pivot `v[begin]`, equal elements to the right, with
/// BlockQuicksort's offset blocks. Returns the pivot's position and whether the range was
/// already partitioned.
fn partition_right_branchless<T: Copy>(
    v: &mut [T],
    begin: usize,
    end: usize,
    less: &impl Fn(&T, &T) -> bool,
) -> (usize, bool) {
    let pivot = v[begin];
    let mut first = begin;
    let mut last = end;
    // The median of 3 guarantees an element >= pivot, so this search needs no bound.
    loop {
        first += 1;
        if !less(&v[first], &pivot) {
            break;
        }
    }
    if first - 1 == begin {
        while first < last {
            last -= 1;
            if less(&v[last], &pivot) {
                break;
            }
        }
    } else {
        loop {
            last -= 1;
            if less(&v[last], &pivot) {
                break;
            }
        }
    }
    let already_partitioned = first >= last;
    if !already_partitioned {
        v.swap(first, last);
        first += 1;
        let mut offsets_l = [0u8; BLOCK_SIZE + 1];
        let mut offsets_r = [0u8; BLOCK_SIZE + 1];
        let (mut offsets_l_base, mut offsets_r_base) = (first, last);
        let (mut num_l, mut num_r, mut start_l, mut start_r) = (0usize, 0usize, 0usize, 0usize);
        while first < last {
            let num_unknown = last - first;
            let left_split = match (num_l, num_r) {
                (0, 0) => num_unknown / 2,
                (0, _) => num_unknown,
                _ => 0,
            };
            let right_split = if num_r == 0 {
                num_unknown - left_split
            } else {
                0
            };
            for i in 0..left_split.min(BLOCK_SIZE) {
                offsets_l[num_l] = i as u8;
                num_l += !less(&v[first], &pivot) as usize;
                first += 1;
            }
            for i in 0..right_split.min(BLOCK_SIZE) {
                offsets_r[num_r] = (i + 1) as u8;
                last -= 1;
                num_r += less(&v[last], &pivot) as usize;
            }
            let num = num_l.min(num_r);
            swap_offsets(
                v,
                offsets_l_base,
                offsets_r_base,
                &offsets_l[start_l..start_l + num],
                &offsets_r[start_r..start_r + num],
                num_l == num_r,
            );
            num_l -= num;
            num_r -= num;
            start_l += num;
            start_r += num;
            if num_l == 0 {
                start_l = 0;
                offsets_l_base = first;
            }
            if num_r == 0 {
                start_r = 0;
                offsets_r_base = last;
            }
        }
        // Every element's side is known: swap the ones left over in a block.
        if num_l > 0 {
            while num_l > 0 {
                num_l -= 1;
                last -= 1;
                v.swap(offsets_l_base + offsets_l[start_l + num_l] as usize, last);
            }
            first = last;
        }
        if num_r > 0 {
            while num_r > 0 {
                num_r -= 1;
                v.swap(offsets_r_base - offsets_r[start_r + num_r] as usize, first);
                first += 1;
            }
        }
    }
    let pivot_pos = first - 1;
    v[begin] = v[pivot_pos];
    v[pivot_pos] = pivot;
    (pivot_pos, already_partitioned)
}

/// Partitions around the pivot `v[begin]` with equal elements to the left; returns the
/// pivot's position.
fn partition_left<T: Copy>(
    v: &mut [T],
    begin: usize,
    end: usize,
    less: &impl Fn(&T, &T) -> bool,
) -> usize {
    let pivot = v[begin];
    let mut first = begin;
    let mut last = end;
    loop {
        last -= 1;
        if !less(&pivot, &v[last]) {
            break;
        }
    }
    if last + 1 == end {
        while first < last {
            first += 1;
            if less(&pivot, &v[first]) {
                break;
            }
        }
    } else {
        loop {
            first += 1;
            if less(&pivot, &v[first]) {
                break;
            }
        }
    }
    while first < last {
        v.swap(first, last);
        loop {
            last -= 1;
            if !less(&pivot, &v[last]) {
                break;
            }
        }
        loop {
            first += 1;
            if less(&pivot, &v[first]) {
                break;
            }
        }
    }
    let pivot_pos = last;
    v[begin] = v[pivot_pos];
    v[pivot_pos] = pivot;
    pivot_pos
}

/// libstdc++'s `std::make_heap` then `std::sort_heap` (pdqsort's fallback after too many
/// unbalanced partitions).
fn heap_sort<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let len = v.len();
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            let value = v[parent];
            adjust_heap(v, parent, len, value, less);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        let value = v[last];
        v[last] = v[0];
        adjust_heap(v, 0, last, value, less);
    }
}

/// libstdc++'s `__adjust_heap`: sift the hole at `hole` down to a leaf, then push `value` up.
fn adjust_heap<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &impl Fn(&T, &T) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len & 1 == 0 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    // __push_heap
    let mut parent = hole.wrapping_sub(1) / 2;
    while hole > top && less(&v[parent], &value) {
        v[hole] = v[parent];
        hole = parent;
        parent = hole.wrapping_sub(1) / 2;
    }
    v[hole] = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so the tests need no crate.
    fn numbers(seed: u64, n: usize, modulo: u32) -> Vec<u32> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % modulo as u64) as u32
            })
            .collect()
    }

    #[test]
    fn sorts_by_key_like_any_sort() {
        for (n, modulo) in [
            (0, 1),
            (1, 1),
            (23, 5),
            (24, 5),
            (200, 3),
            (5000, 40),
            (3000, 1),
        ] {
            for seed in 1..5 {
                let keys = numbers(seed, n, modulo);
                let mut v: Vec<(u32, usize)> = keys.iter().copied().zip(0..).collect();
                sort_by_time(&mut v, |x| x.0);
                let mut expected = keys.clone();
                expected.sort_unstable();
                assert_eq!(v.iter().map(|x| x.0).collect::<Vec<_>>(), expected);
                let mut ids: Vec<usize> = v.iter().map(|x| x.1).collect();
                ids.sort_unstable();
                assert_eq!(ids, (0..n).collect::<Vec<_>>(), "a permutation");
            }
        }
    }

    #[test]
    fn heap_sort_sorts() {
        let mut v: Vec<(u32, usize)> = numbers(7, 301, 10).into_iter().zip(0..).collect();
        heap_sort(&mut v, &|a: &(u32, usize), b: &(u32, usize)| a.0 < b.0);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn equal_keys_are_reordered_like_symusic() {
        // 30 changes, two per tick, already in time order: pdqsort partitions (30 >= 24) and
        // swaps one equal pair, where a stable sort leaves the file order.
        let mut v: Vec<(u32, usize)> = (0..30).map(|i| (i / 2, i as usize)).collect();
        sort_by_time(&mut v, |x| x.0);
        let order: Vec<usize> = v.iter().map(|x| x.1).collect();
        let mut expected: Vec<usize> = (0..30).collect();
        expected.swap(14, 15);
        assert_eq!(order, expected);
    }

    /// Orders the C++ `pdqsort_branchless` produced (random, sorted, reversed, few-valued and
    /// track-concatenated inputs, and McIlroy-adversarial ones that reach the heapsort).
    #[test]
    fn matches_the_cpp_sort_case_for_case() {
        let text = include_str!("../tests/data/pdqsort_branchless.txt");
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(lines.len() >= 40);
        for case in lines.chunks(2) {
            let keys: Vec<u32> = case[0]
                .split(' ')
                .skip(1)
                .map(|k| k.parse().unwrap())
                .collect();
            let expected: Vec<usize> = case[1].split(' ').map(|k| k.parse().unwrap()).collect();
            let mut v: Vec<(u32, usize)> = keys.into_iter().zip(0..).collect();
            sort_by_time(&mut v, |x| x.0);
            let order: Vec<usize> = v.iter().map(|x| x.1).collect();
            assert_eq!(order, expected, "input of {} times", order.len());
        }
    }
}
