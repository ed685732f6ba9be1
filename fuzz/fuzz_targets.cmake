# The fuzz targets: fuzz/<name>_fuzzer.cc defines LLVMFuzzerTestOneInput; its
# seed corpus (and every input that ever crashed it: the regressions) is
# fuzz/corpus/<name>/.
#
# With EVSRC_FUZZ (clang; the asan preset) each target links libFuzzer and the
# CTest test fuzz_<name> (label fuzz) fuzzes it for EVSRC_FUZZ_SECONDS (30 by
# default; fuzz/run_fuzzer) starting from its corpus, under ASan and UBSan.
# Every other build links fuzz/replay_main.cc instead and fuzz_<name>_replay
# runs the whole corpus through the target: a crash once found stays fixed in
# every build.
#
# A target that needs sources outside the libraries lists them in
# EVSRC_FUZZ_EXTRA_SOURCES_<name>, and libraries in EVSRC_FUZZ_EXTRA_LIBS_<name>.
set(EVSRC_FUZZ_EXTRA_SOURCES_import_line ${PROJECT_SOURCE_DIR}/tools/cli/json_event.cc
                                         ${PROJECT_SOURCE_DIR}/tools/cli/cli_common.cc)
set(EVSRC_FUZZ_EXTRA_LIBS_import_line evsrc_client CLI11::CLI11)
set(EVSRC_FUZZ_EXTRA_LIBS_remote_codec evsrc_client)
set(EVSRC_FUZZ_EXTRA_LIBS_rfc3339 evsrc_client)
set(EVSRC_FUZZ_EXTRA_LIBS_event_codec evsrc_directory)

if(EVSRC_FUZZ)
  # Coverage feedback from the code under test, not only from the targets.
  foreach(library evsrc evsrc_server evsrc_client)
    target_compile_options(${library} PRIVATE -fsanitize=fuzzer-no-link)
  endforeach()
endif()

file(GLOB EVSRC_FUZZERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/*_fuzzer.cc)
foreach(source ${EVSRC_FUZZERS})
  get_filename_component(stem ${source} NAME_WE)
  string(REGEX REPLACE "_fuzzer$" "" name ${stem})
  set(target evsrc_fuzz_${name})
  add_executable(${target} ${source} ${EVSRC_FUZZ_EXTRA_SOURCES_${name}})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tools
                                               ${PROJECT_SOURCE_DIR}/fuzz)
  target_link_libraries(${target} PRIVATE ${EVSRC_FUZZ_EXTRA_LIBS_${name}} evsrc_server evsrc
                                          nlohmann_json::nlohmann_json Threads::Threads)
  set(corpus ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
  if(EVSRC_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz_${name} COMMAND ${PROJECT_SOURCE_DIR}/fuzz/run_fuzzer $<TARGET_FILE:${target}> ${corpus})
    set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT 1800)
  else()
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc)
    add_test(NAME fuzz_${name}_replay COMMAND ${target} ${corpus})
    set_tests_properties(fuzz_${name}_replay PROPERTIES LABELS fuzz TIMEOUT 300)
  endif()
endforeach()
