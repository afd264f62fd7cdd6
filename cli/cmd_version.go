package cli

import (
	"github.com/lkg-dev/lkg/internal/text"

	"fmt"
	"runtime/debug"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = ""

// VersionCmd is `lkg version`.
type VersionCmd struct{}

// Run prints the version.
func (c *VersionCmd) Run(std *IO) error {
	_, err := fmt.Fprintln(std.Out, versionLine())
	return err
}

// versionLine is what 'lkg version' and 'lkg --version' print: the version,
// and the VCS revision the binary was built from when Go recorded one.
func versionLine() string {
	v := version
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if rev != "" {
		return fmt.Sprintf("lkg %s (%s)", v, text.ShortHash(rev))
	}
	return "lkg " + v
}
