// The one way user-supplied text is quoted back in a message (a dataset name, a --comment word,
// an option value): it may be arbitrarily long and hold any byte, and the message goes to the
// researcher's terminal and to slurmctld's log.
//
// Standard library only: the SPANK plugin, loaded into every sbatch, srun and salloc, links it
// too (see plugins/spank/dataset_option.h for why it links no abseil).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sovereign {

// Double-quoted, cut to `max_bytes` bytes (then "..."), control and non-ASCII bytes as \xNN.
std::string QuoteUserText(std::string_view text, size_t max_bytes);

}  // namespace sovereign
