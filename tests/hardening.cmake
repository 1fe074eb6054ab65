# Hardening: CURVE key files, the allow-list and the ZAP handler (proto/ft_curve,
# ft_key_set, ft_zap), and the fuzz targets of fuzz/ replayed over their committed
# corpora without libFuzzer (so every ctest run, sanitized or not, re-checks the seeds
# and any saved crash input).
set(FT_FUZZ_DIR ${CMAKE_SOURCE_DIR}/fuzz)

# ft_fuzz_replay(TARGET LIBS ...): TARGET.c + replay_main.c, run over fuzz/corpus/TARGET.
function(ft_fuzz_replay target)
  cmake_parse_arguments(R "" "" "LIBS" ${ARGN})
  add_executable(replay_${target} ${FT_FUZZ_DIR}/${target}.c ${FT_FUZZ_DIR}/replay_main.c)
  target_link_libraries(replay_${target} PRIVATE ${R_LIBS})
  add_test(NAME replay_${target} COMMAND replay_${target} ${FT_FUZZ_DIR}/corpus/${target})
  set_tests_properties(replay_${target} PROPERTIES TIMEOUT 60 LABELS "fuzz")
endfunction()

ft_fuzz_replay(fuzz_wire LIBS ft_proto ft_common)
ft_fuzz_replay(fuzz_config LIBS ft_common)
# The file readers (seeds: fuzz_file_seeds below, plus regress_* inputs).
ft_fuzz_replay(fuzz_checkpoint LIBS ft_model)
ft_fuzz_replay(fuzz_resume LIBS ft_coordinator)
ft_fuzz_replay(fuzz_npy LIBS ft_data)
ft_fuzz_replay(fuzz_idx LIBS ft_data ZLIB::ZLIB)
ft_fuzz_replay(fuzz_cifar LIBS ft_data)
ft_fuzz_replay(fuzz_curve LIBS ft_proto)

# Writes fuzz/corpus/fuzz_wire: `build/tests/fuzz_wire_seeds fuzz/corpus/fuzz_wire`.
add_executable(fuzz_wire_seeds ${FT_FUZZ_DIR}/fuzz_wire_seeds.c)
target_link_libraries(fuzz_wire_seeds PRIVATE ft_proto ft_common)
# Writes the file readers' corpora: `build/tests/fuzz_file_seeds fuzz/corpus`.
add_executable(fuzz_file_seeds ${FT_FUZZ_DIR}/fuzz_file_seeds.c)
target_link_libraries(fuzz_file_seeds PRIVATE ft_coordinator ft_model ft_data ft_proto ZLIB::ZLIB)

ft_test(test_curve LIBS ft_proto PkgConfig::ZMQ TIMEOUT 60)
ft_test(test_config_roundtrip LIBS ft_common TIMEOUT 30)
ft_script_test(keygen_cli keygen_cli.sh TIMEOUT 30)

# Fault tolerance with real processes (tests/integration): coordinator SIGKILL and
# --resume (bit-identical metrics, torn-checkpoint fallback).
ft_script_test(fed_resume integration/fed_resume.sh TIMEOUT 120)
# CURVE with real processes over tcp://127.0.0.1: allow-list, refusals with the
# peer address, key file modes, fedtail run making its own keys.
ft_script_test(fed_curve integration/fed_curve.sh TIMEOUT 120)
# Client faults: random SIGKILLs down to one process (and all of them, then
# --resume); a SIGSTOPped straggler past round_timeout whose late update is stale.
ft_script_test(fed_kill_many integration/fed_kill_many.sh TIMEOUT 120)
ft_script_test(fed_straggler integration/fed_straggler.sh TIMEOUT 120)
# Chaos: 30 rounds through a seeded schedule (FT_TEST_SEED) of client SIGKILLs and
# SIGSTOPs and two coordinator SIGKILLs with --resume; metrics, final.ckpt and
# summary.json equal an undisturbed run's, and no round or event is lost.
ft_script_test(fed_chaos integration/fed_chaos.sh TIMEOUT 240)
# Validation against a scripted client: NaN/Inf updates reach the defense (FedAvg
# NaN, median finite), rejections are events and counted, oversized frames dropped;
# a NaN/Inf global model (NaN payload, 3e38 overflow) is recorded and stops the run.
ft_test(test_coordinator_hardening LIBS ft_coordinator ft_proto Threads::Threads TIMEOUT 60)
# A destroyed model with real processes: fedtail run / coordinator exit 3, the
# verdict says so, run.on_nonfinite = continue completes, run.compare runs every arm.
ft_script_test(fed_nonfinite integration/fed_nonfinite.sh TIMEOUT 120)
# Crafted checkpoints (digest recomputed): every field of a resumable checkpoint and of
# a federation.init model is checked; a bad slot falls back to the other one.
ft_test(test_coordinator_ckpt LIBS ft_coordinator TIMEOUT 60)
# The same with real processes: a run resumed from a directory whose newest checkpoint
# says round = 999 falls back (both crafted: starts over) and ends with the files of
# an uninterrupted run (tests/integration/ckpt_patch.py crafts them).
ft_script_test(fed_ckpt_crafted integration/fed_ckpt_crafted.sh TIMEOUT 120)
# JSON output of a run whose model is NaN: strict JSON (null), no NaN literals.
ft_script_test(fed_json_nan integration/fed_json_nan.sh TIMEOUT 120)
# FIFOs as federation.init, a data file, the INI, a checkpoint: refused at once.
ft_script_test(fed_fifo integration/fed_fifo.sh TIMEOUT 120)
# Unwritable / full run directory (a tmpfs in a private mount namespace; skipped
# without unshare): clear errors naming the file, whole files, resumable.
ft_script_test(fed_diskfull integration/fed_diskfull.sh TIMEOUT 120)
# valgrind memcheck over a short run (coordinator + client, CURVE, checkpoints,
# --resume); 77 without valgrind, on ASan or CUDA builds.
ft_script_test(fed_valgrind integration/fed_valgrind.sh LABELS valgrind TIMEOUT 180)
# Bad input with real processes, each refused naming the file (issue 16, item 6): a
# malformed allow-list key, duplicate INI keys, a bad experiment leaving no run
# directory behind, images whose shape the model does not take.
ft_script_test(fed_bad_input integration/fed_bad_input.sh TIMEOUT 120)

# Hostile peers for the resource-bound tests below (Hello floods, descriptor floods).
add_executable(flood_peer ${CMAKE_CURRENT_SOURCE_DIR}/flood_peer.c)
target_link_libraries(flood_peer PRIVATE ft_proto ft_common)
# Hello floods (plaintext and CURVE with an authorized key): re-registration, 2^20
# ids, ids outside the population, the cap on ids held: VmHWM within 2x of start-up,
# the run completes.
ft_script_test(fed_flood_hello integration/fed_flood_hello.sh TIMEOUT 120)
# Descriptor floods at an open-file limit of 1024: 1,100 ZeroMQ connections
# (plaintext), 1,100 raw TCP connects that never handshake (CURVE): the connection
# guard keeps the coordinator below its limit, within 2x memory, the run complete.
ft_script_test(fed_flood_fds integration/fed_flood_fds.sh TIMEOUT 180)
# The connection guard over real sockets: the bound for an open-file limit, the soft
# limit raised, 3 of 6 connections kept, the count back to 0 when they leave.
ft_test(test_peer_guard LIBS ft_proto PkgConfig::ZMQ TIMEOUT 60)
