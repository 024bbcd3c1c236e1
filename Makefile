# fugu — thin wrappers around meson. `make run` and `make test` are the two
# commands the README starts with; both install missing Debian packages first.

BUILD ?= build
SANBUILD ?= build-san
FUZZBUILD ?= build-fuzz
FUZZ_HARNESSES = decode cpu devices loader options gdbstub vmentry snapshot cmdline
FUZZ_SECONDS ?= 600
AFLBUILD ?= build-afl
MESON_SETUP = meson setup --reconfigure

.PHONY: all deps build build-san build-fuzz fuzz build-afl fuzz-afl run test bench clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	@sh scripts/deps.sh
	meson setup $(BUILD) >/dev/null

$(SANBUILD)/build.ninja:
	@sh scripts/deps.sh
	meson setup $(SANBUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null

# The libFuzzer harnesses (docs/FUZZING.md): clang-14, the library instrumented
# for coverage, ASan+UBSan; only the harnesses are built here.
$(FUZZBUILD)/build.ninja:
	@sh scripts/deps.sh
	CC=clang-14 meson setup $(FUZZBUILD) -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null

build-fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD) $(addprefix testsuite/fuzz/fuzz_,$(FUZZ_HARNESSES))

# Each harness for FUZZ_SECONDS (default 600) on its corpus plus fresh inputs.
fuzz: build-fuzz
	@rc=0; for h in $(FUZZ_HARNESSES); do \
		python3 testsuite/fuzz/run_fuzz.py $(FUZZBUILD)/testsuite/fuzz/fuzz_$$h \
			testsuite/fuzz/corpus/$$h $(FUZZ_SECONDS) || rc=1; \
	done; exit $$rc

# The same harnesses for AFL++ (Debian's afl++): afl-clang-fast instruments the
# library and links each harness with AFL++'s libFuzzer driver (it turns
# -fsanitize=fuzzer into libAFLDriver.a), ASan+UBSan as above.
$(AFLBUILD)/build.ninja:
	@sh scripts/deps.sh
	CC=afl-clang-fast meson setup $(AFLBUILD) -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null

build-afl: deps $(AFLBUILD)/build.ninja
	ninja -C $(AFLBUILD) $(addprefix testsuite/fuzz/fuzz_,$(FUZZ_HARNESSES))

# afl-fuzz on each harness for FUZZ_SECONDS, its seed corpus as input, the
# findings in $(AFLBUILD)/afl-out/<harness> (crashes/ and hangs/ must stay empty),
# afl-fuzz's own output in $(AFLBUILD)/afl-out/<harness>.log.
fuzz-afl: build-afl
	@mkdir -p $(AFLBUILD)/afl-out; rc=0; for h in $(FUZZ_HARNESSES); do \
		AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
		ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0:allocator_may_return_null=1 \
		UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1 \
		afl-fuzz -V $(FUZZ_SECONDS) -m none -t 10000 -i testsuite/fuzz/corpus/$$h \
			-o $(AFLBUILD)/afl-out/$$h -- $(AFLBUILD)/testsuite/fuzz/fuzz_$$h \
			>$(AFLBUILD)/afl-out/$$h.log 2>&1 || { rc=1; tail -5 $(AFLBUILD)/afl-out/$$h.log; }; \
		n=$$(ls $(AFLBUILD)/afl-out/$$h/default/crashes $(AFLBUILD)/afl-out/$$h/default/hangs 2>/dev/null | grep -c id:); \
		echo "fuzz_$$h: $$(grep -E '^execs_done' $(AFLBUILD)/afl-out/$$h/default/fuzzer_stats), $$n crashes+hangs"; \
		[ $$n -eq 0 ] || rc=1; \
	done; exit $$rc

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-san: deps $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)

# The default guest: the demo disk (firmware/demo/demo.asm) booted through
# Debian's SeaBIOS, COM1 on this terminal; in the SDL window when a display is
# there (DISPLAY or WAYLAND_DISPLAY set), headless otherwise. It shows the
# machine, runs a clock, echoes typed scan codes on COM1, and powers off on Esc
# (or a key on the terminal) or after 30 s (fugu exits with 0).
run: build
	./$(BUILD)/fugu -m 128 -hda $(BUILD)/firmware/demo.img -snapshot -serial stdio

# Every suite in the optimized build, the boot suite again through the JIT
# (`--setup jit`), then the unit and guest suites again under ASan+UBSan; one
# summary line at the end.
test: build build-san build-fuzz
	@rc=0; \
	meson test -C $(BUILD) --num-processes 2 --print-errorlogs || rc=1; \
	meson test -C $(BUILD) --setup jit --suite boot --num-processes 2 --print-errorlogs \
		--logbase testlog-jit || rc=1; \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=0 \
		meson test -C $(SANBUILD) --suite unit --suite guests --suite guests-jit --num-processes 2 --print-errorlogs || rc=1; \
	meson test -C $(FUZZBUILD) --suite fuzz --no-rebuild --print-errorlogs || rc=1; \
	python3 scripts/test-summary.py $(BUILD) $(SANBUILD) $(FUZZBUILD) || rc=1; \
	exit $$rc

bench: build
	@sh testsuite/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD)
