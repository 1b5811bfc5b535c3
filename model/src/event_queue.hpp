#pragma once
// Internal: pending events of a run, by the period in which they happen.
//
// Design notes. A run creates events every period (deliveries due after a lead time,
// retirements after a useful life, power after a build lead) and consumes them when their
// period comes. Near events go to a ring of `window` buckets indexed by period modulo the
// window; buckets keep their capacity, so a run stops allocating after its first periods and
// memory grows with the longest lead time, not with the horizon. Events further ahead than
// the window (builds committed years before they energize) go to a sorted overflow list.
// Events of one period come out in the order they were pushed (ring first, then overflow),
// which keeps runs deterministic.
#include <algorithm>
#include <utility>
#include <vector>

#include "gpumm/simulate.hpp"

namespace gpumm::detail {

class EventQueue {
 public:
  /// `periods`: the horizon (events at or after it are dropped); `window` >= 1.
  void reset(int periods, int window) {
    periods_ = periods;
    window_ = std::max(window, 1);
    ring_.assign(static_cast<size_t>(window_), {});
    far_.clear();
    far_next_ = 0;
    sealed_ = false;
  }

  /// Before the run: schedule `e` for `period` (unsorted, cheap); call `seal()` once after.
  void schedule(int period, const Event& e) {
    if (period < periods_) far_.emplace_back(std::max(period, 0), e);
  }
  /// Sort what `schedule` collected, keeping the order of events of one period.
  void seal() {
    std::stable_sort(far_.begin(), far_.end(),
                     [](const std::pair<int, Event>& a, const std::pair<int, Event>& b) { return a.first < b.first; });
    sealed_ = true;
  }

  /// Schedule `e` for `period`, seen from period `now` (period >= now).
  void push(int now, int period, const Event& e) {
    if (!sealed_) return schedule(period, e);
    if (period >= periods_) return;
    period = std::max(period, now);
    if (period - now < window_) {
      ring_[static_cast<size_t>(period % window_)].push_back(e);
      return;
    }
    auto at = std::upper_bound(far_.begin() + static_cast<long>(far_next_), far_.end(), period,
                               [](int p, const std::pair<int, Event>& x) { return p < x.first; });
    far_.insert(at, {period, e});
  }

  /// Call `f(event)` for every event of period `t`, then forget them. Call with t increasing.
  template <class F>
  void drain(int t, F&& f) {
    auto& bucket = ring_[static_cast<size_t>(t % window_)];
    for (const Event& e : bucket) f(e);
    bucket.clear();
    while (far_next_ < far_.size() && far_[far_next_].first <= t) f(far_[far_next_++].second);
  }

 private:
  int periods_ = 0, window_ = 1;
  std::vector<std::vector<Event>> ring_;
  std::vector<std::pair<int, Event>> far_;
  size_t far_next_ = 0;
  bool sealed_ = false;
};

/// Amounts due per (period, index) for a dense index space (cell x generation): a ring of
/// `window` slots of `n` doubles, added to in place. For flows that happen in most cells every
/// period (deliveries falling due, retirements) this beats a list of events: no allocation
/// after the start, and memory of window x n whatever the horizon. Amounts further ahead than
/// the window wait in a sorted overflow list.
class DenseRing {
 public:
  void reset(int periods, int window, int n) {
    periods_ = periods;
    window_ = std::max(window, 1);
    n_ = n;
    slots_.assign(static_cast<size_t>(window_) * static_cast<size_t>(n_), 0.0);
    far_.clear();
    far_next_ = 0;
  }

  /// Add `amount` at `index` in `period`, seen from period `now` (period >= now).
  void add(int now, int period, int index, double amount) {
    if (period >= periods_) return;
    period = std::max(period, now);
    if (period - now < window_) {
      slots_[static_cast<size_t>(period % window_) * static_cast<size_t>(n_) + static_cast<size_t>(index)] += amount;
      return;
    }
    add_far(period, index, amount);
  }

  /// The slot of period `t` (n doubles); the caller reads and zeroes the entries it visits.
  /// Overflow amounts of period `t` are moved into the slot first.
  double* slot(int t) {
    double* s = slots_.data() + static_cast<size_t>(t % window_) * static_cast<size_t>(n_);
    while (far_next_ < far_.size() && far_[far_next_].period <= t) {
      s[far_[far_next_].index] += far_[far_next_].amount;
      ++far_next_;
    }
    return s;
  }

 private:
  struct Far {
    int period;
    int index;
    double amount;
  };
  // beyond the ring: the rare case, out of line so that `add` inlines into the step's loops
  [[gnu::noinline]] void add_far(int period, int index, double amount) {
    Far x{period, index, amount};
    auto at = std::upper_bound(far_.begin() + static_cast<long>(far_next_), far_.end(), x,
                               [](const Far& a, const Far& b) { return a.period < b.period; });
    far_.insert(at, x);
  }
  int periods_ = 0, window_ = 1, n_ = 0;
  std::vector<double> slots_;
  std::vector<Far> far_;
  size_t far_next_ = 0;
};

}  // namespace gpumm::detail
