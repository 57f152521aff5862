#include "sovereign/job_tag.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace sovereign {
namespace {

constexpr absl::string_view kTagPrefix = "sovereign:v1";

}  // namespace

std::string FormatJobTag(const JobTag& tag) {
  return absl::StrCat(kTagPrefix, ";id=", tag.decision_id, ";ds=", absl::StrJoin(tag.datasets, ","),
                      ";region=", tag.region, ";reg=", tag.register_version);
}

absl::StatusOr<JobTag> ParseJobTag(const char* admin_comment) {
  if (admin_comment == nullptr) {
    return absl::NotFoundError("job carries no sovereign tag");
  }
  absl::string_view text = admin_comment;
  size_t at = text.find(kTagPrefix);
  if (at == absl::string_view::npos) {
    return absl::NotFoundError("job carries no sovereign tag");
  }
  text = text.substr(at + kTagPrefix.size());
  JobTag tag;
  bool have_id = false;
  for (absl::string_view field : absl::StrSplit(text, ';', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(field, absl::MaxSplits('=', 1));
    if (kv.first == "id") {
      tag.decision_id = std::string(kv.second);
      have_id = !kv.second.empty();
    } else if (kv.first == "ds") {
      tag.datasets = absl::StrSplit(kv.second, ',', absl::SkipEmpty());
    } else if (kv.first == "region") {
      tag.region = std::string(kv.second);
    } else if (kv.first == "reg") {
      tag.register_version = std::string(kv.second);
    } else {
      break;  // text after the tag belongs to the admin
    }
  }
  if (!have_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed sovereign tag \"", admin_comment, "\": no decision id"));
  }
  return tag;
}

}  // namespace sovereign
