//go:build !unix

package main

import "time"

// processCPU is the CPU time the process has used; unknown (0) here.
func processCPU() time.Duration { return 0 }
