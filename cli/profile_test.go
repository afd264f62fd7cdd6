package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiled runs main under pprof when LKG_TEST_CPUPROFILE or
// LKG_TEST_MEMPROFILE names a file. The test binary runs as lkg when
// invoked under that name (testscript.Main), so
//
//	go test -c -o /tmp/bin/lkg . && LKG_TEST_CPUPROFILE=cpu.out /tmp/bin/lkg find ...
//
// profiles the whole CLI on a real repository; the shipped binary has no
// such switch.
func profiled(main func() int) int {
	if path := os.Getenv("LKG_TEST_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lkg test harness:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "lkg test harness:", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	code := main()
	if path := os.Getenv("LKG_TEST_MEMPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			runtime.GC()
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "lkg test harness:", err)
		}
	}
	return code
}
