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
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sovereign {

// Appends the comma-separated names in `list` to *out, skipping ones already there.
// INVALID_ARGUMENT for an empty name, naming `where` ("--dataset", "--comment").
absl::Status AddDatasetNames(absl::string_view list, absl::string_view where,
                             std::vector<std::string>* out);

// Adds the datasets a --comment's `dataset:a,b` words declare to *out (skipping ones already
// there). INVALID_ARGUMENT, quoting what was typed, for a word that evidently declares datasets
// but cannot be read (see above).
absl::Status AddCommentDatasets(absl::string_view comment, std::vector<std::string>* out);

}  // namespace sovereign
