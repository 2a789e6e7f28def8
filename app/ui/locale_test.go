package ui

import (
	"bytes"
	"log"
	"testing"

	"fyne.io/fyne/v2/lang"
)

// Issue 14: under LANG=C.UTF-8 (Debian's and Docker's default) Fyne logged
// "Fyne error: Error parsing user locale C" on every start. The go-locale
// it reads the environment with is patched (app/patches/go-locale).
func TestCLocaleIsReadSilently(t *testing.T) {
	for _, v := range []string{"C.UTF-8", "C.utf8", "POSIX", "C"} {
		t.Run(v, func(t *testing.T) {
			for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANGUAGE"} {
				t.Setenv(k, "")
			}
			t.Setenv("LANG", v)
			var buf bytes.Buffer
			was := log.Writer()
			log.SetOutput(&buf)
			got := lang.SystemLocale()
			// Loading translations reads the locale list again, as
			// Fyne's own init does.
			err := lang.AddTranslationsForLocale([]byte("{}"), "en")
			log.SetOutput(was)
			if err != nil {
				t.Fatal(err)
			}
			if buf.Len() > 0 {
				t.Errorf("LANG=%s: Fyne logged:\n%s", v, buf.String())
			}
			if got.LanguageString() != "en" {
				t.Errorf("LANG=%s: locale %q, want English", v, got)
			}
		})
	}
}
