// Command lkg finds the newest build that matches a known-good production
// tag, wherever a copy survives, and puts it back. The command line is
// package cli.
package main

import (
	"os"

	"github.com/lkg-dev/lkg/cli"
)

func main() { os.Exit(cli.Main()) }
