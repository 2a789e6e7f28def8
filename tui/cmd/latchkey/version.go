package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func versionCommand() command {
	return command{
		name:    "version",
		usage:   "",
		summary: "print the version of latchkey",
		run:     runVersion,
	}
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlags(versionCommand(), e)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("version: takes no arguments")
	}
	_, err = fmt.Fprintf(e.stdout, "latchkey %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
