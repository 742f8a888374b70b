//go:build !unix

package agent

func isCrossDevice(error) bool { return false }
