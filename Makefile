# fugu — thin wrappers around meson. `make run` and `make test` are the two
# commands the README starts with; both install missing Debian packages first.

BUILD ?= build
SANBUILD ?= build-san
MESON_SETUP = meson setup --reconfigure

.PHONY: all deps build build-san run test bench clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	@sh scripts/deps.sh
	meson setup $(BUILD) >/dev/null

$(SANBUILD)/build.ninja:
	@sh scripts/deps.sh
	meson setup $(SANBUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null

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

# Every suite in the optimized build, then the unit and guest suites again under
# ASan+UBSan; one summary line at the end.
test: build build-san
	@rc=0; \
	meson test -C $(BUILD) --num-processes 2 --print-errorlogs || rc=1; \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=0 \
		meson test -C $(SANBUILD) --suite unit --suite guests --num-processes 2 --print-errorlogs || rc=1; \
	python3 scripts/test-summary.py $(BUILD) $(SANBUILD) || rc=1; \
	exit $$rc

bench: build
	@sh testsuite/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(SANBUILD)
