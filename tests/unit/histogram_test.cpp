// The latency histogram: where each duration lands, and quantiles as PromQL estimates them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "export/histogram.hpp"

using namespace pingmesh;

TEST(Histogram, BoundsAreInclusiveAndTheLastSpillsIntoInf) {
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    Histogram h;
    h.add(Histogram::kUpperNs[i]);
    h.add(Histogram::kUpperNs[i] + 1);
    EXPECT_EQ(h.bucket(i), 1u) << "le=" << Histogram::kUpperLabels[i];
    EXPECT_EQ(h.bucket(i + 1), 1u) << "just above le=" << Histogram::kUpperLabels[i];
  }
  Histogram h;
  h.add(0);
  EXPECT_EQ(h.bucket(0), 1u);
  h.add(300'000'000'000);
  EXPECT_EQ(h.bucket(Histogram::kBuckets), 1u);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.sum_ns(), 300'000'000'000u);
  EXPECT_DOUBLE_EQ(h.sum_seconds(), 300.0);
}

TEST(Histogram, LabelsAreTheBounds) {
  EXPECT_EQ(Histogram::kUpperNs.front(), 50'000u);
  EXPECT_EQ(Histogram::kUpperNs.back(), 30'000'000'000u);
  EXPECT_TRUE(std::is_sorted(Histogram::kUpperNs.begin(), Histogram::kUpperNs.end()));
  for (size_t i = 0; i < Histogram::kBuckets; ++i) {
    std::string label(Histogram::kUpperLabels[i]);
    EXPECT_EQ(std::strtod(label.c_str(), nullptr), double(Histogram::kUpperNs[i]) / 1e9) << label;
  }
}

TEST(Histogram, QuantileInterpolatesInsideTheBucket) {
  // Uniform on (0, 10 ms], one value every 10 us: 5 ms and 10 ms are bucket bounds, so
  // PromQL's estimate is exact here.
  Histogram h;
  for (uint64_t i = 1; i <= 1000; ++i) h.add(i * 10'000);
  EXPECT_NEAR(h.quantile(0.5), 0.005, 1e-12);
  EXPECT_NEAR(h.quantile(0.9), 0.009, 1e-12);
  EXPECT_NEAR(h.quantile(0.99), 0.0099, 1e-12);
  EXPECT_NEAR(h.quantile(1.0), 0.010, 1e-12);
  // rank 100 is in (0.5 ms, 1 ms] holding 50: below 50, so 0.5 + 0.5 * 50/50 ms.
  EXPECT_NEAR(h.quantile(0.1), 0.001, 1e-12);
  EXPECT_NEAR(h.quantile(0.075), 0.00075, 1e-12);
}

TEST(Histogram, TheFirstBucketStartsAtZero) {
  Histogram h;
  for (int i = 0; i < 10; ++i) h.add(10'000);
  EXPECT_NEAR(h.quantile(0.5), 25e-6, 1e-15);
  EXPECT_EQ(h.quantile(0), 0.0);
}

TEST(Histogram, AnythingInInfIsTheLastFiniteBound) {
  Histogram h;
  for (int i = 0; i < 90; ++i) h.add(1'000'000);
  for (int i = 0; i < 10; ++i) h.add(100'000'000'000);
  EXPECT_EQ(h.quantile(0.95), 30.0);
  EXPECT_NEAR(h.quantile(0.5), 0.0005 + 0.0005 * 50 / 90, 1e-12);
}

TEST(Histogram, EdgeCasesFollowPromql) {
  Histogram h;
  EXPECT_TRUE(std::isnan(h.quantile(0.5))) << "empty";
  h.add(1);
  EXPECT_EQ(h.quantile(-0.1), -INFINITY);
  EXPECT_EQ(h.quantile(1.1), INFINITY);
  EXPECT_TRUE(std::isnan(h.quantile(NAN)));
}

TEST(Histogram, EstimateOfALogNormalStaysInTheTrueQuantilesBucket) {
  // Round-trip times are roughly log-normal: median 2 ms, wide spread.
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> d(std::log(2e6), 1.5);
  Histogram h;
  std::vector<uint64_t> all;
  for (int i = 0; i < 20000; ++i) {
    uint64_t ns = uint64_t(d(rng));
    h.add(ns);
    all.push_back(ns);
  }
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.9, 0.99}) {
    double truth = double(all[size_t(q * double(all.size())) - 1]) / 1e9;
    double est = h.quantile(q);
    auto bucket_of = [](double s) {
      auto at = std::lower_bound(Histogram::kUpperNs.begin(), Histogram::kUpperNs.end(),
                                 uint64_t(std::llround(s * 1e9)));
      return at - Histogram::kUpperNs.begin();
    };
    EXPECT_EQ(bucket_of(est), bucket_of(truth)) << "q=" << q << " est " << est << " true " << truth;
    EXPECT_LT(std::max(est, truth) / std::min(est, truth), 2.5) << "q=" << q;
  }
}

TEST(Histogram, StaysSmall) {
  EXPECT_LE(sizeof(Histogram), 56u) << "16-bit counts until one would overflow";
  EXPECT_LE(6 * sizeof(Histogram), 336u);
}

// A bucket past 65,535 widens the counts to 32 bits, every bucket kept exact.
TEST(Histogram, CountsPastSixteenBitsStayExact) {
  Histogram h;
  constexpr uint32_t kMany = 70'000;
  for (uint32_t i = 0; i < kMany; ++i) h.add(60'000);  // bucket 1
  for (int i = 0; i < 3; ++i) h.add(2'000'000);        // bucket 5
  h.add(300'000'000'000);                              // +Inf
  EXPECT_EQ(h.bucket(1), kMany);
  EXPECT_EQ(h.bucket(5), 3u);
  EXPECT_EQ(h.bucket(Histogram::kBuckets), 1u);
  EXPECT_EQ(h.count(), kMany + 4u);
  EXPECT_EQ(h.sum_ns(), uint64_t(kMany) * 60'000 + 6'000'000 + 300'000'000'000);
  Histogram below;  // one short of the widening: the same numbers without it
  for (uint32_t i = 0; i < 65'535; ++i) below.add(60'000);
  EXPECT_EQ(below.bucket(1), 65'535u);
  below.add(60'000);
  EXPECT_EQ(below.bucket(1), 65'536u);
  EXPECT_DOUBLE_EQ(below.quantile(0.5), 0.000075);
}
