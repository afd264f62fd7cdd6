//go:build !unix

package journal

func isReadOnly(error) bool { return false }
