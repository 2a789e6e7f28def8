package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagSet is a command's flags. -h/--help prints the command's usage and
// flags to standard output; a parse error prints nothing there.
type flagSet struct {
	*flag.FlagSet
	cmd command
	out io.Writer
}

func newFlags(c command, e *env) *flagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; parse prints help
	// itself, and only when asked for.
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, cmd: c, out: e.stdout}
}

func (fs *flagSet) printUsage() {
	w := fs.out
	fmt.Fprintf(w, "Usage: latchkey %s %s\n\n%s\n", fs.cmd.name, fs.cmd.usage, fs.cmd.summary)
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// errHelp tells the caller that help was printed and the command should
// exit successfully.
var errHelp = errors.New("help requested")

// parse parses args allowing flags after positional arguments
// ("code github --copy"), as users of most CLIs expect; "--" ends flags.
// It returns the positional arguments, errHelp after printing help, or a
// usage error.
func (fs *flagSet) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printUsage()
				return nil, errHelp
			}
			msg := err.Error()
			if f, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "unknown flag " + f
			}
			return nil, usageErrorf("%s: %s (see 'latchkey %s --help')", fs.cmd.name, msg, fs.cmd.name)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// Parse stops at the first positional argument or after "--".
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// handleHelp turns errHelp into success.
func handleHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
