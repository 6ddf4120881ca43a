//go:build unix

package metrics

import (
	"runtime"
	"syscall"
)

// Self measures this process so far.
func Self() Process {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return Process{}
	}
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	rss := int64(ru.Maxrss) // kilobytes on Linux, bytes on macOS
	if runtime.GOOS != "darwin" && runtime.GOOS != "ios" {
		rss *= 1024
	}
	return Process{CPUSeconds: cpu, PeakRSSBytes: rss, HaveResources: true}
}
