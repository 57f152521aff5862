// rpc_probe: makes one call to sovereignd and prints its outcome, for tests that need to call
// as another Unix user (the test forks, drops to that uid and execs this) or over mutual TLS.
//
//   rpc_probe --socket PATH METHOD 'REQUEST_JSON'
//   rpc_probe --tls HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem METHOD 'REQUEST_JSON'
//
// METHOD is Service.Method of package sovereign.v1 (PlacementService.Decide), found in the
// generated descriptors: every RPC of proto/ can be called without a change here. Besides
// them, the grpc services sovereignd serves for grpcurl: Health.Check, Health.Watch and
// Reflection.ListServices (reflection's ServerReflectionInfo asked for every service name).
//
// Prints one line "<STATUS_CODE> <message>" and, when OK, a second line with the response as
// JSON (for streams: the first message, or nothing when the stream ended empty; Health: the
// serving status; ListServices: {"services":[...]}). Exit 0 whatever the call's status; 2 for
// bad usage.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

constexpr char kPackage[] = "sovereign.v1";

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "OTHER";
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

grpc::ByteBuffer Bytes(const std::string& raw) {
  grpc::Slice slice(raw);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Raw(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return out;
}

struct Outcome {
  grpc::Status status;
  std::string response;  // the raw bytes of the (first) response message; empty when none
  bool has_response = false;
};

// One call through the generic stub: a unary call, or a stream whose first message is read
// (the stream is then cancelled). `request` is the serialised request message.
Outcome Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& path,
             const std::string& request, bool stream, std::chrono::seconds timeout) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::ByteBuffer response;
  Outcome outcome;
  void* tag;
  bool ok = false;
  if (!stream) {
    auto call = stub.PrepareUnaryCall(&ctx, path, Bytes(request), &cq);
    call->StartCall();
    call->Finish(&response, &outcome.status, reinterpret_cast<void*>(1));
    cq.Next(&tag, &ok);
    outcome.has_response = outcome.status.ok();
  } else {
    auto call = stub.PrepareCall(&ctx, path, &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    cq.Next(&tag, &ok);
    call->WriteLast(Bytes(request), grpc::WriteOptions(), reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    call->Read(&response, reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
    outcome.has_response = ok;
    if (ok) {
      ctx.TryCancel();  // one message is all a probe reads
    }
    call->Finish(&outcome.status, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    if (outcome.has_response) {
      outcome.status = grpc::Status::OK;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (outcome.has_response) {
    outcome.response = Raw(response);
  }
  return outcome;
}

// A sovereign.v1 RPC: the request JSON becomes the method's request message, the response is
// printed as JSON.
int CallSovereign(const std::shared_ptr<grpc::Channel>& channel, const MethodDescriptor& method,
                  const std::string& request_json) {
  google::protobuf::DynamicMessageFactory factory;
  std::unique_ptr<Message> request(factory.GetPrototype(method.input_type())->New());
  if (!google::protobuf::util::JsonStringToMessage(request_json.empty() ? "{}" : request_json,
                                                   request.get())
           .ok()) {
    std::cerr << "rpc_probe: request is not a " << method.input_type()->full_name()
              << " in JSON: " << request_json << "\n";
    return 2;
  }
  const std::string path = "/" + method.service()->full_name() + "/" + method.name();
  const bool stream = method.server_streaming() || method.client_streaming();
  Outcome o = Call(channel, path, request->SerializeAsString(), stream, std::chrono::seconds(30));
  std::cout << CodeName(o.status.error_code()) << " " << o.status.error_message() << "\n";
  if (o.status.ok()) {
    std::string json;
    if (o.has_response) {
      std::unique_ptr<Message> response(factory.GetPrototype(method.output_type())->New());
      response->ParseFromString(o.response);
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(*response, &json, options);
    }
    std::cout << json << "\n";
  }
  return 0;
}

// Reads a varint at `*at` of `data`; false at the end or on a malformed one.
bool Varint(const std::string& data, size_t* at, uint64_t* value) {
  *value = 0;
  for (int shift = 0; *at < data.size() && shift < 64; shift += 7) {
    const auto byte = static_cast<unsigned char>(data[(*at)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      return true;
    }
  }
  return false;
}

// The length-delimited fields numbered `field` of a serialised message (other fields skipped).
std::vector<std::string> Fields(const std::string& data, uint64_t field) {
  std::vector<std::string> out;
  size_t at = 0;
  uint64_t key = 0, value = 0;
  while (at < data.size() && Varint(data, &at, &key)) {
    switch (key & 7) {
      case 0:
        if (!Varint(data, &at, &value)) {
          return out;
        }
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2:
        if (!Varint(data, &at, &value) || value > data.size() - at) {
          return out;
        }
        if ((key >> 3) == field) {
          out.push_back(data.substr(at, value));
        }
        at += value;
        break;
      default:
        return out;
    }
  }
  return out;
}

// grpc's own services, which this repository has no generated code for: their messages are
// encoded and decoded here by hand.
int CallGrpcService(const std::shared_ptr<grpc::Channel>& channel, const std::string& method) {
  Outcome o;
  std::string text;
  if (method == "Health.Check" || method == "Health.Watch") {
    // HealthCheckRequest{service: ""}: no bytes. HealthCheckResponse{status = 1: SERVING}.
    const bool watch = method == "Health.Watch";
    o = Call(channel, watch ? "/grpc.health.v1.Health/Watch" : "/grpc.health.v1.Health/Check", "",
             watch, std::chrono::seconds(30));
    if (o.has_response) {
      text = o.response == std::string("\x08\x01", 2) ? "SERVING" : "NOT_SERVING";
    }
  } else if (method == "Reflection.ListServices") {
    // ServerReflectionRequest{list_services = 7: "*"}; the answer's list_services_response
    // (6) holds ServiceResponse (1) messages, each a name (1).
    o = Call(channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
             std::string("\x3a\x01*", 3), true, std::chrono::seconds(30));
    text = "{\"services\":[";
    const char* comma = "";
    for (const std::string& list : Fields(o.response, 6)) {
      for (const std::string& service : Fields(list, 1)) {
        for (const std::string& name : Fields(service, 1)) {
          text += comma + ("\"" + name + "\"");
          comma = ",";
        }
      }
    }
    text += "]}";
  } else {
    std::cerr << "rpc_probe: unknown method " << method << "\n";
    return 2;
  }
  std::cout << CodeName(o.status.error_code()) << " " << o.status.error_message() << "\n";
  if (o.status.ok()) {
    std::cout << text << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, tls, ca, cert, key;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    std::string flag = argv[i];
    if (flag == "--socket") {
      socket = argv[i + 1];
    } else if (flag == "--tls") {
      tls = argv[i + 1];
    } else if (flag == "--ca") {
      ca = argv[i + 1];
    } else if (flag == "--cert") {
      cert = argv[i + 1];
    } else if (flag == "--key") {
      key = argv[i + 1];
    } else {
      std::cerr << "rpc_probe: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (i >= argc || (socket.empty() == tls.empty())) {
    std::cerr << "usage: rpc_probe (--socket PATH | --tls HOST:PORT --ca --cert --key) METHOD "
                 "[JSON]\n";
    return 2;
  }
  const std::string method = argv[i];
  const std::string request = i + 1 < argc ? argv[i + 1] : "{}";
  std::shared_ptr<grpc::Channel> channel;
  if (!socket.empty()) {
    channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  } else {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFile(ca);
    o.pem_cert_chain = ReadFile(cert);
    o.pem_private_key = ReadFile(key);
    grpc::ChannelArguments args;
    // The test server certificate is issued for "localhost".
    args.SetSslTargetNameOverride("localhost");
    channel = grpc::CreateCustomChannel(tls, grpc::SslCredentials(o), args);
  }
  const size_t dot = method.find('.');
  const MethodDescriptor* found = nullptr;
  if (dot != std::string::npos) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            std::string(kPackage) + "." + method.substr(0, dot));
    found = service != nullptr ? service->FindMethodByName(method.substr(dot + 1)) : nullptr;
  }
  if (found != nullptr) {
    return CallSovereign(channel, *found, request);
  }
  return CallGrpcService(channel, method);
}
