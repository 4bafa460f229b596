//go:build !unix

package bulk

// cpuTime is not measured here; benchmarks then report no cpu-ns/op.
func cpuTime() int64 { return 0 }
