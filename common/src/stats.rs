//! Summaries of measured durations: what the timing client reports.
//!
//! Load tools disagree on what "the 99th percentile" is (some interpolate, some average the slowest
//! one per cent). Ours is the *nearest rank*: sort the n samples; the p-th percentile is the sample at
//! rank ⌈p/100 · n⌉ (counting from 1, and at least 1). It is always a latency that was actually
//! measured, and p100 is the maximum.

use std::time::Duration;

/// The nearest-rank percentile `p` (0 to 100) of samples sorted in ascending order; `None` when there
/// are no samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// One bar of a [`histogram`]: how many samples fall at or under `upper` (and above the previous
/// bar's bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// The bucket's upper bound.
    pub upper: Duration,
    /// How many samples fall in it.
    pub count: usize,
}

/// Counts sorted samples into `buckets` bars of equal width from the fastest to the slowest. When all
/// samples are equal there is one bar (equal widths of zero would make no sense).
pub fn histogram(sorted: &[Duration], buckets: usize) -> Vec<Bucket> {
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    if min == max || buckets <= 1 {
        return vec![Bucket {
            upper: max,
            count: sorted.len(),
        }];
    }
    // Integer nanoseconds, so that a sample exactly on a bound is counted exactly.
    let span = (max - min).as_nanos();
    let count = buckets as u128;
    let at = |fraction: u128| min + Duration::from_nanos((span * fraction / count) as u64);
    let mut bars: Vec<Bucket> = (1..=count)
        .map(|i| Bucket {
            upper: at(i),
            count: 0,
        })
        .collect();
    for sample in sorted {
        let offset = (*sample - min).as_nanos();
        // The bar whose upper bound is the first at or above the sample.
        let index = (offset * count).div_ceil(span).saturating_sub(1) as usize;
        bars[index.min(buckets - 1)].count += 1;
    }
    bars
}

/// The arithmetic mean of the samples; `None` when there are none.
pub fn mean(samples: &[Duration]) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let total: f64 = samples.iter().map(Duration::as_secs_f64).sum();
    Some(Duration::from_secs_f64(total / samples.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn nearest_rank_percentiles_on_a_known_vector() {
        // Ten samples, 1 to 10 ms.
        let samples = ms(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        let at = |p| percentile(&samples, p).unwrap().as_millis();
        assert_eq!(at(0.0), 1);
        assert_eq!(at(10.0), 1);
        assert_eq!(at(11.0), 2);
        assert_eq!(at(50.0), 5);
        assert_eq!(at(90.0), 9);
        assert_eq!(at(99.0), 10);
        assert_eq!(at(99.9), 10);
        assert_eq!(at(100.0), 10);
        // The classic textbook example: 15, 20, 35, 40, 50.
        let classic = ms(&[15, 20, 35, 40, 50]);
        assert_eq!(percentile(&classic, 30.0).unwrap().as_millis(), 20);
        assert_eq!(percentile(&classic, 40.0).unwrap().as_millis(), 20);
        assert_eq!(percentile(&classic, 50.0).unwrap().as_millis(), 35);
        assert_eq!(percentile(&classic, 100.0).unwrap().as_millis(), 50);
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn histograms_split_the_range_evenly() {
        let samples = ms(&[1, 2, 2, 3, 4, 5, 9, 10, 10, 10]);
        let bars = histogram(&samples, 3);
        assert_eq!(
            bars,
            [
                Bucket {
                    upper: Duration::from_millis(4),
                    count: 5
                },
                Bucket {
                    upper: Duration::from_millis(7),
                    count: 1
                },
                Bucket {
                    upper: Duration::from_millis(10),
                    count: 4
                },
            ]
        );
        assert_eq!(bars.iter().map(|b| b.count).sum::<usize>(), samples.len());
    }

    #[test]
    fn all_equal_samples_make_one_bar() {
        let samples = ms(&[7, 7, 7, 7]);
        assert_eq!(
            histogram(&samples, 10),
            [Bucket {
                upper: Duration::from_millis(7),
                count: 4
            }]
        );
        assert_eq!(percentile(&samples, 99.9), Some(Duration::from_millis(7)));
        assert_eq!(mean(&samples), Some(Duration::from_millis(7)));
        assert!(histogram(&[], 10).is_empty());
    }

    #[test]
    fn the_mean_is_the_average() {
        assert_eq!(mean(&ms(&[1, 2, 3, 6])), Some(Duration::from_millis(3)));
        assert_eq!(mean(&[]), None);
    }
}
