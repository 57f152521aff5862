// How a job declares its datasets in what a researcher types: the one reading of a dataset list
// and of the --comment channel, for the job_submit plugin (which reads every job with it) and
// `sovereignctl explain --comment` (which shows what the plugin would read).
//
// Where a job's datasets come from; every source adds up, none overrides another:
//   - the SPANK option `--dataset=a,b` (already the union of every --dataset option and
//     #SBATCH --dataset line);
//   - `dataset:a,b` (or `datasets:a,b`) tokens in --comment, for clusters without the SPANK
//     plugin. Tokens are separated by white space and ';'. The key is matched case-insensitively
//     (`Dataset:a`, `DATASETS:a,b`); the names are taken as typed;
//   - the account's implied datasets (added by Decide, from the register);
//   - the datasets of the job it was submitted from (added by the plugin's SubmitFilter).
//
// A comment token that evidently tries to declare datasets but cannot be read refuses the job,
// never is ignored: a token that starts with "dataset" or "datasets" (any case) followed by ':'
// or '=' or the end of the token, and is not `dataset:<names>`. So `dataset=a`, `dataset:`
// (including `dataset: a`, with a space), `dataset`, `Datasets = a` are refused, while
// `dataset_v2`, `datasets.` or `mydataset:a` are ordinary comment text.
//
// A job may also let its start move for less CO2 (a green window): the SPANK option
// `--green-window=6h`, or a `green-window:6h` token in --comment (key matched
// case-insensitively; the option wins over the comment). A token that starts with
// "green-window" followed by ':' or '=' or the end, and cannot be read, refuses the job.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sovereign {

// Appends the comma-separated names in `list` to *out, skipping ones already there.
// INVALID_ARGUMENT for an empty name, naming `where` ("--dataset", "--comment").
absl::Status AddDatasetNames(absl::string_view list, absl::string_view where,
                             std::vector<std::string>* out);

// Adds the datasets a --comment's `dataset:a,b` words declare to *out (skipping ones already
// there). INVALID_ARGUMENT, quoting what was typed, for a word that evidently declares datasets
// but cannot be read (see above).
absl::Status AddCommentDatasets(absl::string_view comment, std::vector<std::string>* out);

// The longest green window a job can ask for (a register may allow less).
inline constexpr absl::Duration kMaxGreenWindow = absl::Hours(24 * 14);

// Reads a green window ("6h", "90m", "1d12h": the duration syntax of duration.h), longer than
// zero and at most kMaxGreenWindow. INVALID_ARGUMENT naming `where` ("--green-window",
// "--comment") and quoting the value.
absl::Status ReadGreenWindow(absl::string_view text, absl::string_view where,
                             absl::Duration* out);

// Sets *out from a --comment's `green-window:<duration>` token (the last one counts); leaves it
// when there is none. INVALID_ARGUMENT for a token that evidently declares one but cannot be
// read.
absl::Status AddCommentGreenWindow(absl::string_view comment, absl::Duration* out);

}  // namespace sovereign
