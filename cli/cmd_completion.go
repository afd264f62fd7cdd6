package cli

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/lkg-dev/lkg/gitops"
)

// CompletionCmd is `lkg completion bash|zsh|fish`.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell to complete in: bash, zsh or fish."`
}

// Help is the long text of `lkg completion --help`.
func (c *CompletionCmd) Help() string {
	return `Prints the script that makes the shell complete lkg's commands and flags, the
repository's tag names for --good and --bad, the images .lkg.yaml configures for
--image and its target for --to. Load it in the shell's startup file:

  bash:  source <(lkg completion bash)
  zsh:   source <(lkg completion zsh)
  fish:  lkg completion fish | source

The script asks lkg itself for the words (with COMP_LINE set, as bash's
complete -C does), so lkg must be on PATH.`
}

// completionScripts hook lkg into each shell. They are the ones kongplete
// installs: bash and zsh (through bashcompinit) run the command with
// COMP_LINE and COMP_POINT set; fish sets COMP_LINE itself.
var completionScripts = map[string]string{
	"bash": "complete -C lkg lkg\n",
	"zsh": `autoload -U +X bashcompinit && bashcompinit
complete -C lkg lkg
`,
	"fish": `function __complete_lkg
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    lkg
end
complete -f -c lkg -a "(__complete_lkg)"
`,
}

// Run prints the script.
func (c *CompletionCmd) Run(std *IO) error {
	_, err := fmt.Fprint(std.Out, completionScripts[c.Shell])
	return err
}

// completeIfAsked answers a shell's completion request (COMP_LINE is set)
// and exits through the parser; otherwise it does nothing. The values it
// predicts are cheap to read: tag names from refs alone, images and the
// target from .lkg.yaml; any failure predicts nothing rather than
// printing an error into the user's command line.
func completeIfAsked(parser *kong.Kong) {
	if os.Getenv("COMP_LINE") == "" {
		return
	}
	var words bytes.Buffer
	out := parser.Stdout
	parser.Stdout = &words
	exit := -1
	kongplete.Complete(parser,
		kongplete.WithPredictor("tag", complete.PredictFunc(predictTags)),
		kongplete.WithPredictor("image", complete.PredictFunc(predictImages)),
		kongplete.WithPredictor("target", complete.PredictFunc(predictTarget)),
		kongplete.WithErrorHandler(func(error) {}),
		kongplete.WithExitFunc(func(code int) { exit = code }),
	)
	parser.Stdout = out
	if exit < 0 {
		return
	}
	// Sorted, so the same line always gets the same answer.
	lines := strings.Fields(words.String())
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	parser.Exit(exit)
}

// predictTags lists the tag names of the repository -C names on the line.
func predictTags(complete.Args) []string {
	repo, err := gitops.Open(completionDir(), gitops.WithNoFetch(true))
	if err != nil {
		return nil
	}
	names, err := repo.TagNames()
	if err != nil {
		return nil
	}
	return names
}

// predictImages lists the images .lkg.yaml configures.
func predictImages(complete.Args) []string {
	cfg, err := loadConfig(completionDir())
	if err != nil {
		return nil
	}
	return cfg.Images
}

// predictTarget is the target .lkg.yaml configures for --to.
func predictTarget(complete.Args) []string {
	cfg, err := loadConfig(completionDir())
	if err != nil || cfg.To == "" {
		return nil
	}
	return []string{cfg.To}
}

// completionDir is -C (or --dir) as typed on the line being completed,
// else LKG_DIR, else the current directory. It reads COMP_LINE itself:
// the arguments a predictor gets start at the subcommand, and -C is
// usually typed before it.
func completionDir() string {
	line := os.Getenv("COMP_LINE")
	if p, err := strconv.Atoi(os.Getenv("COMP_POINT")); err == nil && p >= 0 && p < len(line) {
		line = line[:p]
	}
	words := strings.Fields(line)
	if len(words) > 0 && !strings.HasSuffix(line, " ") {
		words = words[:len(words)-1] // the word being typed
	}
	dir := os.Getenv("LKG_DIR")
	for i, w := range words {
		switch {
		case (w == "-C" || w == "--dir") && i+1 < len(words):
			dir = words[i+1]
		case strings.HasPrefix(w, "--dir="):
			dir = strings.TrimPrefix(w, "--dir=")
		case strings.HasPrefix(w, "-C") && len(w) > 2:
			dir = strings.TrimPrefix(strings.TrimPrefix(w, "-C"), "=")
		}
	}
	if dir == "" {
		dir = "."
	}
	return dir
}
