// Fuzz target: the payload of a spool record (DecodeSpooledDecision), which sovereignd reads
// from the spool the plugin writes, and the plugin's hand-written encoder behind it. A record
// that decodes is encoded again (EncodeSpooledDecision); that encoding must decode, and encode
// to the same bytes: what the ingester reads is exactly what the plugin meant.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sovereign/spool_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string payload(reinterpret_cast<const char*>(data), size);
  auto decoded = sovereign::spool::DecodeSpooledDecision(payload);
  if (!decoded.ok()) {
    return 0;
  }
  std::string encoded;
  sovereign::spool::EncodeSpooledDecision(*decoded, &encoded);
  auto again = sovereign::spool::DecodeSpooledDecision(encoded);
  if (!again.ok()) {
    std::abort();
  }
  std::string reencoded;
  sovereign::spool::EncodeSpooledDecision(*again, &reencoded);
  if (reencoded != encoded) {
    std::abort();
  }
  return 0;
}
