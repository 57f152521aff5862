// The energy report's arithmetic, on records written by hand: estimates scaled to the run,
// measured figures kept apart, green savings, and the rows a grouping gives.
#include "records/energy_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace sovereign::service {
namespace {

audit::AuditRecord Outcome(const std::string& id, const std::string& start, const std::string& end,
                           const std::string& extra = "") {
  audit::AuditRecord r;
  r.seq = 7;
  r.kind = audit::RecordKind::kOutcome;
  r.decision_id = id;
  r.verdict = "ended";
  r.body_json = "{\"id\":\"" + id + "\",\"start_time\":\"" + start + "\",\"end_time\":\"" + end +
                "\",\"verdict\":\"ended\"" + extra + "}";
  return r;
}

audit::AuditRecord Decision(const std::string& id, const std::string& partition,
                            const std::string& account, int time_limit_s, double kwh,
                            double grams, double gco2, const std::string& green = "") {
  audit::AuditRecord r;
  r.seq = 3;
  r.decision_id = id;
  r.partition = partition;
  r.account = account;
  r.region = "eu";
  r.body_json = "{\"candidates\":[{\"status\":\"eligible\",\"energy_kwh\":99,\"co2_grams\":99},"
                "{\"status\":\"chosen\",\"energy_kwh\":" + std::to_string(kwh) +
                ",\"co2_grams\":" + std::to_string(grams) + ",\"gco2_per_kwh\":" +
                std::to_string(gco2) + "}]" + green + ",\"request\":{\"time_limit_seconds\":" +
                std::to_string(time_limit_s) + "}}";
  return r;
}

TEST(EnergyReportTest, ScalesTheEstimateToTheRunAndKeepsMeasuredApart) {
  // A 4h estimate of 10 kWh and 500 g; the job ran 2h: 5 kWh, 250 g. Its green window moved it
  // from 800 g to 500 g for the 4h: 300 g saved, 150 g for the 2h it ran.
  auto a = EnergyJobOf(
      Outcome("a", "2026-12-06T10:00:00Z", "2026-12-06T12:00:00Z"),
      Decision("a", "pa", "oncology", 14400, 10, 500, 50,
               ",\"green\":{\"co2_grams\":500,\"immediate\":{\"co2_grams\":800},\"moved\":true}"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_DOUBLE_EQ(a->estimated_kwh, 5);
  EXPECT_DOUBLE_EQ(a->co2_grams, 250);
  EXPECT_TRUE(a->green_moved);
  EXPECT_DOUBLE_EQ(a->green_saved_grams, 150);
  // Measured 3 kWh at the placement's 100 g/kWh: 300 g, whatever the estimate said.
  auto b = EnergyJobOf(Outcome("b", "2026-12-06T10:00:00Z", "2026-12-07T01:00:00Z",
                               ",\"energy_kwh_measured\":3"),
                       Decision("b", "pb", "", 3600, 1, 100, 100));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->measured_kwh, 3);
  EXPECT_DOUBLE_EQ(b->co2_grams, 300);
  // No time limit: the estimate was for the policy's default, taken as it is.
  auto c = EnergyJobOf(Outcome("c", "2026-12-07T10:00:00Z", "2026-12-07T10:30:00Z"),
                       Decision("c", "pa", "oncology", 0, 2, 100, 50));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->estimated_kwh, 2);

  const std::vector<EnergyJob> jobs = {*a, *b, *c};
  const std::vector<EnergyRow> rows = SummariseEnergy(jobs, EnergyGrouping::kPartition);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].key, "pa");
  EXPECT_EQ(rows[0].jobs, 2);
  EXPECT_DOUBLE_EQ(rows[0].estimated_kwh, 7);
  EXPECT_DOUBLE_EQ(rows[0].jobs_per_kwh(), 2.0 / 7);
  EXPECT_DOUBLE_EQ(rows[0].co2_kg, 0.35);
  EXPECT_EQ(rows[0].green_jobs, 1);
  EXPECT_DOUBLE_EQ(rows[0].green_saved_kg, 0.15);
  EXPECT_EQ(rows[1].key, "pb");
  EXPECT_EQ(rows[1].measured_jobs, 1);
  EXPECT_DOUBLE_EQ(rows[1].measured_kwh, 3);
  EXPECT_DOUBLE_EQ(rows[1].estimated_kwh, 0);
  EXPECT_EQ(rows[2].key, "total");
  EXPECT_EQ(rows[2].jobs, 3);
  EXPECT_DOUBLE_EQ(rows[2].jobs_per_kwh(), 0.3);  // 3 jobs / (3 measured + 7 estimated)
  EXPECT_DOUBLE_EQ(rows[2].co2_kg, 0.65);

  const std::vector<EnergyRow> by_day = SummariseEnergy(jobs, EnergyGrouping::kDay);
  ASSERT_EQ(by_day.size(), 3u);
  EXPECT_EQ(by_day[0].key, "2026-12-06");
  EXPECT_EQ(by_day[0].jobs, 1);
  EXPECT_EQ(by_day[1].key, "2026-12-07");  // b ended after midnight UTC, with c
  EXPECT_EQ(by_day[1].jobs, 2);
  const std::vector<EnergyRow> by_account = SummariseEnergy(jobs, EnergyGrouping::kAccount);
  EXPECT_EQ(by_account[0].key, "");  // no account
  EXPECT_EQ(by_account[1].key, "oncology");
}

TEST(EnergyReportTest, SaysWhichRecordLacksWhat) {
  auto no_times = EnergyJobOf(Outcome("a", "", ""), Decision("a", "pa", "", 60, 1, 1, 1));
  EXPECT_EQ(no_times.status().message(),
            "record 7 (decision a): the outcome has no start_time and end_time");
  audit::AuditRecord rederived = Decision("a", "pa", "", 60, 1, 1, 1);
  rederived.body_json = "{\"source\":\"rederived\"}";
  auto no_chosen = EnergyJobOf(Outcome("a", "2026-12-06T10:00:00Z", "2026-12-06T11:00:00Z"),
                               rederived);
  EXPECT_EQ(no_chosen.status().message(),
            "record 3 (decision a): the decision has no chosen partition");
  EXPECT_FALSE(ParseEnergyGrouping("week").has_value());
  EXPECT_EQ(ParseEnergyGrouping("day"), EnergyGrouping::kDay);
}

// The report's read of a real log: each outcome with its placement, a job whose placement is
// missing counted apart with why, and a period too large refused.
class CollectEnergyJobsTest : public testing::TempDirTest {};

TEST_F(CollectEnergyJobsTest, PairsOutcomesWithPlacementsAndSaysWhatItSkipped) {
  audit::AuditOptions o;
  o.path = dir_ + "/audit.db";
  o.signing_key_path = dir_ + "/signing.pem";
  auto log = audit::AuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  std::vector<audit::AuditRecord> records = {
      Decision("a", "pa", "oncology", 3600, 2, 100, 50),
      Outcome("a", "2026-12-06T10:00:00Z", "2026-12-06T10:30:00Z"),
      Decision("b", "pb", "", 3600, 4, 100, 25),
      Outcome("b", "2026-12-06T11:00:00Z", "2026-12-06T12:00:00Z"),
      Outcome("gone", "2026-12-06T11:00:00Z", "2026-12-06T12:00:00Z")};
  records.back().job_id = 9;
  ASSERT_TRUE((*log)->AppendAll(records).ok());

  absl::StatusOr<EnergyJobs> got = CollectEnergyJobs(**log, std::nullopt, std::nullopt, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->jobs.size(), 2u);
  EXPECT_EQ(got->jobs[0].partition, "pb");  // newest first
  EXPECT_DOUBLE_EQ(got->jobs[0].estimated_kwh, 4);
  EXPECT_EQ(got->jobs[1].partition, "pa");
  EXPECT_DOUBLE_EQ(got->jobs[1].estimated_kwh, 1);
  EXPECT_EQ(got->skipped, 1);
  EXPECT_EQ(got->first_skipped, "job 9: its decision gone is not in the log");

  EXPECT_EQ(CollectEnergyJobs(**log, std::nullopt, std::nullopt, 2).status().message(),
            "more than 2 jobs ended in the period: ask for a shorter one (--since, --until)");
}

}  // namespace
}  // namespace sovereign::service
