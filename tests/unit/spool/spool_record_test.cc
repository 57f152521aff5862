// The spool record's payload: what the plugin encodes is what sovereignd decodes, and a payload
// that is not one (damaged, or written by something else) is refused with the field it names.
#include "sovereign/spool_record.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::spool {
namespace {

SpooledDecision Example() {
  SpooledDecision d;
  d.decision_id = "1795000000-00af-3";
  d.job_id = 4101;
  d.request.user = "alice";
  d.request.uid = 1001;
  d.request.groups = {"oncology"};
  d.request.datasets = {"patients-eu"};
  d.request.gpus = 8;
  d.request.time_limit = absl::Hours(4);
  d.decision.verdict = Verdict::kPlace;
  d.decision.partition = 0;
  d.decision.partition_name = "gpu-fr-a100";
  d.decision.region = "eu";
  d.decision.labels = {"patients-eu"};
  Candidate c;
  c.partition = 0;
  c.rank = 1;
  c.nodes = 1;
  c.energy_kwh = 22.4;
  c.co2_grams = 693;
  c.free_gpus = 40;
  d.decision.candidates = {c};
  return d;
}

std::string Encoded() {
  std::string out;
  EncodeSpooledDecision(Example(), &out);
  return out;
}

// `Encoded()` with `from` replaced by `to`; fails the test if `from` is absent.
std::string With(const std::string& from, const std::string& to) {
  std::string text = Encoded();
  EXPECT_NE(text.find(from), std::string::npos) << from;
  return absl::StrReplaceAll(text, {{from, to}});
}

TEST(SpoolRecordTest, DecodesWhatItEncodes) {
  auto d = DecodeSpooledDecision(Encoded());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->decision_id, "1795000000-00af-3");
  EXPECT_EQ(d->job_id, 4101u);
  EXPECT_EQ(d->request.gpus, 8);
  EXPECT_EQ(d->request.time_limit, absl::Hours(4));
  ASSERT_EQ(d->decision.candidates.size(), 1u);
  EXPECT_EQ(d->decision.candidates[0].free_gpus, 40);
  std::string again;
  EncodeSpooledDecision(*d, &again);
  EXPECT_EQ(again, Encoded());
}

// A job with --begin and a green window: the request's start and window, and what the window
// did, come back as they were written.
TEST(SpoolRecordTest, GreenWindowRoundTrips) {
  SpooledDecision x = Example();
  x.request.begin_time = absl::FromUnixSeconds(1795003600);
  x.request.green_window = absl::Hours(6);
  GreenStart& g = x.decision.green;
  g.window = absl::Hours(6);
  g.asked = absl::Hours(6);
  g.immediate = absl::FromUnixMicros(1795003600123456);
  g.immediate_partition = 0;
  g.immediate_co2_grams = 693;
  g.start = absl::FromUnixSeconds(1795010800);
  g.partition = 0;
  g.co2_grams = 201.5;
  g.moved = true;
  std::string text;
  EncodeSpooledDecision(x, &text);
  auto d = DecodeSpooledDecision(text);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->request.begin_time, x.request.begin_time);
  EXPECT_EQ(d->request.green_window, absl::Hours(6));
  EXPECT_EQ(d->decision.green.immediate, g.immediate);
  EXPECT_EQ(d->decision.green.start, g.start);
  EXPECT_EQ(d->decision.green.co2_grams, 201.5);
  EXPECT_EQ(d->decision.green.immediate_co2_grams, 693);
  EXPECT_TRUE(d->decision.green.moved);
  std::string again;
  EncodeSpooledDecision(*d, &again);
  EXPECT_EQ(again, text);
  // A record without them decodes to none.
  auto plain = DecodeSpooledDecision(Encoded());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->request.begin_time, absl::InfinitePast());
  EXPECT_EQ(plain->decision.green.asked, absl::ZeroDuration());

  const std::string bad = absl::StrReplaceAll(text, {{",0,201.5,1]]", ",3,201.5,1]]"}});
  ASSERT_NE(bad, text);
  EXPECT_EQ(DecodeSpooledDecision(bad).status().message(),
            "spooled decision: the green row has a field out of range");
  const std::string negative =
      absl::StrReplaceAll(text, {{"\"green_window_s\":21600", "\"green_window_s\":-1"}});
  ASSERT_NE(negative, text);
  EXPECT_EQ(DecodeSpooledDecision(negative).status().message(),
            "spooled decision: field \"green_window_s\" must not be negative");
}

// A candidate whose GPU power was measured keeps the figure and when it was taken; the
// register's figure is not spooled (the record names the register).
TEST(SpoolRecordTest, MeasuredPowerRoundTrips) {
  SpooledDecision x = Example();
  Candidate& c = x.decision.candidates[0];
  c.gco2_per_kwh = 31;
  c.gpu_watts = 210.5;
  c.power_from = PowerFrom::kDcgm;
  c.power_at = absl::FromUnixMicros(1795000000123456);
  std::string text;
  EncodeSpooledDecision(x, &text);
  auto d = DecodeSpooledDecision(text);
  ASSERT_TRUE(d.ok()) << d.status();
  const Candidate& back = d->decision.candidates[0];
  EXPECT_EQ(back.power_from, PowerFrom::kDcgm);
  EXPECT_EQ(back.gpu_watts, 210.5);
  EXPECT_EQ(back.power_at, c.power_at);
  EXPECT_EQ(back.carbon_covered, 0);  // no series: the register's annual mean
  EXPECT_EQ(back.gco2_per_kwh, 31);
  std::string again;
  EncodeSpooledDecision(*d, &again);
  EXPECT_EQ(again, text);
  const std::string bad = absl::StrReplaceAll(text, {{",210.5,", ",-1,"}});
  ASSERT_NE(bad, text);
  EXPECT_EQ(DecodeSpooledDecision(bad).status().message(),
            "spooled decision: a candidate has a field out of range");
}

// A learned figure (from the partition's finished jobs) keeps where it came from.
TEST(SpoolRecordTest, LearnedPowerRoundTrips) {
  SpooledDecision x = Example();
  Candidate& c = x.decision.candidates[0];
  c.gco2_per_kwh = 31;
  c.gpu_watts = 250;
  c.power_from = PowerFrom::kLearned;
  c.power_at = absl::FromUnixMicros(1795000000000000);
  std::string text;
  EncodeSpooledDecision(x, &text);
  EXPECT_NE(text.find(",250,1795000000000000,1]"), std::string::npos) << text;
  auto d = DecodeSpooledDecision(text);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->decision.candidates[0].power_from, PowerFrom::kLearned);
  EXPECT_EQ(d->decision.candidates[0].gpu_watts, 250);
  const std::string bad =
      absl::StrReplaceAll(text, {{",1795000000000000,1]", ",1795000000000000,2]"}});
  ASSERT_NE(bad, text);
  EXPECT_EQ(DecodeSpooledDecision(bad).status().message(),
            "spooled decision: a candidate has a field out of range");
}

// Numbers an integer field cannot hold were converted with undefined behaviour (a double out
// of int's range) or to another value (an integer out of range); the spool_record fuzz
// target's UndefinedBehaviorSanitizer stops on tests/fuzz/corpus/spool_record/out-of-range.json.
TEST(SpoolRecordTest, IntegerFieldOutOfRange) {
  EXPECT_EQ(DecodeSpooledDecision(With("\"gpus\":8", "\"gpus\":1e300")).status().message(),
            "spooled decision: field \"gpus\" has the wrong type");
  EXPECT_EQ(DecodeSpooledDecision(With("\"gpus\":8", "\"gpus\":8.5")).status().message(),
            "spooled decision: field \"gpus\" has the wrong type");
  EXPECT_EQ(DecodeSpooledDecision(With("\"gpus\":8", "\"gpus\":4294967304")).status().message(),
            "spooled decision: field \"gpus\": 4294967304 is out of range");
  EXPECT_EQ(DecodeSpooledDecision(With("\"uid\":1001", "\"uid\":-1")).status().message(),
            "spooled decision: field \"uid\": -1 is out of range");
  EXPECT_EQ(DecodeSpooledDecision(With("\"job\":4101", "\"job\":4294971397")).status().message(),
            "spooled decision: field \"job\": 4294971397 is out of range");
  EXPECT_EQ(DecodeSpooledDecision(With("\"v\":1", "\"v\":1e300")).status().message(),
            "spooled decision: field \"v\" has the wrong type");
}

TEST(SpoolRecordTest, CandidateFieldOutOfRange) {
  for (const char* row : {"[1e300,0,1,1,22.4,693,40]", "[0,0,1,1,22.4,693,-1e300]",
                          "[0.5,0,1,1,22.4,693,40]", "[0,99,1,1,22.4,693,40]",
                          "[0,-1,1,1,22.4,693,40]"}) {
    EXPECT_EQ(DecodeSpooledDecision(With("[0,0,1,1,22.4,693,40]", row)).status().message(),
              "spooled decision: a candidate has a field out of range")
        << row;
  }
}

// The decoder reads without building a JSON tree, and answers as reading one would: a member
// written twice counts as written last, members it does not know are skipped whatever they
// hold, and a value of another shape names its field.
TEST(SpoolRecordTest, ReadsAsAJsonDocument) {
  auto twice = DecodeSpooledDecision(With("\"gpus\":8", "\"gpus\":\"eight\",\"gpus\":4"));
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->request.gpus, 4);
  auto unknown = DecodeSpooledDecision(
      With("\"gpus\":8", "\"gpus\":8,\"later\":{\"gpus\":1,\"a\":[[\"x\"],{\"y\":[2]}]}"));
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->request.gpus, 8);
  EXPECT_EQ(DecodeSpooledDecision(With("\"gpus\":8", "\"gpus\":8,\"gpus\":\"8\"")).status().message(),
            "spooled decision: field \"gpus\" has the wrong type");
  EXPECT_EQ(DecodeSpooledDecision(With("\"groups\":[\"oncology\"]", "\"groups\":[\"oncology\",7]"))
                .status()
                .message(),
            "spooled decision: field \"groups\" has the wrong type");
  EXPECT_EQ(DecodeSpooledDecision(With("\"stale_cluster\":false", "\"stale_cluster\":0")).status().message(),
            "spooled decision: field \"stale_cluster\" has the wrong type");
  EXPECT_EQ(DecodeSpooledDecision(With("\"user\":\"alice\",", "")).status().message(),
            "spooled decision: field \"user\" is missing");
  EXPECT_EQ(DecodeSpooledDecision(With("\"job\":4101", "\"job\":-1")).status().message(),
            "spooled decision: field \"job\" has the wrong type");
  for (const char* rows : {"[[0,0,1,1,22.4,693,true]]", "[[0,0,1,1,22.4,693,null]]",
                           "[[0,0,1,1,22.4,693,\"40\"]]", "[[0,0,1,1,22.4,693,[40]]]", "[7]",
                           "[\"row\"]", "{}"}) {
    EXPECT_EQ(DecodeSpooledDecision(With("[[0,0,1,1,22.4,693,40]]", rows)).status().message(),
              "spooled decision: field \"candidates\" has the wrong type")
        << rows;
  }
  EXPECT_EQ(DecodeSpooledDecision(With("[[0,0,1,1,22.4,693,40]]", "[[0,0,1,1,22.4,693]]"))
                .status()
                .message(),
            "spooled decision: a candidate does not have 7, 11, 13 or 14 fields");
  for (const std::string& text : {std::string("[") + Encoded() + "]", std::string("7"),
                                  Encoded() + " x", Encoded().substr(0, 40)}) {
    EXPECT_EQ(DecodeSpooledDecision(text).status().message(),
              "spooled decision: not a JSON object")
        << text;
  }
}

}  // namespace
}  // namespace sovereign::spool
