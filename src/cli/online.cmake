# sovereignctl's commands that talk to sovereignd over gRPC. Included by src/cli/CMakeLists.txt
# after add_executable(sovereignctl ...): defines SOVEREIGN_CLI_ONLINE for sovereignctl (see
# main.cc) and links the online commands into it.
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
add_library(sovereign_cli_online STATIC
  ${CMAKE_CURRENT_LIST_DIR}/audit_commands.cc
  ${CMAKE_CURRENT_LIST_DIR}/daemon_client.cc
  ${CMAKE_CURRENT_LIST_DIR}/datasets_online.cc
  ${CMAKE_CURRENT_LIST_DIR}/explain_online.cc
  ${CMAKE_CURRENT_LIST_DIR}/register_online.cc
  ${CMAKE_CURRENT_LIST_DIR}/status.cc
)
target_include_directories(sovereign_cli_online PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(sovereign_cli_online PUBLIC SOVEREIGN_CLI_ONLINE)
target_link_libraries(sovereign_cli_online
  PUBLIC sovereign_proto sovereign_proto_convert sovereign_placement CLI11::CLI11
  PRIVATE sovereign_audit gRPC::grpc++ absl::strings absl::str_format absl::time
          nlohmann_json::nlohmann_json)
target_link_libraries(sovereignctl PRIVATE sovereign_cli_online)
