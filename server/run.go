package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"latchkey/core/atomicfile"
	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/emailotp"
)

// ErrUsage is wrapped by errors in how Run was called (flags, arguments).
var ErrUsage = errors.New("usage error")

type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Usage is the synopsis of Run's arguments.
const Usage = `[--addr 127.0.0.1:8080] [--db PATH|postgres://...] [--key-file F] [--config F] [--tls-cert F --tls-key F] [--public-url URL]
       latchkey serve rotate-key [--db ...] [--key-file F] [--new-key-file F]
       latchkey serve rotate-signing-key [--db ...] [--key-file F] [--signing-alg RS256|ES256]
       latchkey serve metadata|jwks [--db ...] [--key-file F] [--public-url URL | --addr A [--tls-cert F --tls-key F]]`

// FileConfig is the JSON file given with --config. Flags given on the
// command line win over it.
type FileConfig struct {
	Addr        string `json:"addr,omitempty"`
	DB          string `json:"db,omitempty"`
	KeyFile     string `json:"key_file,omitempty"`
	TLSCert     string `json:"tls_cert,omitempty"`
	TLSKey      string `json:"tls_key,omitempty"`
	Window      *int   `json:"window,omitempty"`
	MaxFailures int    `json:"max_failures,omitempty"`
	Issuer      string `json:"issuer,omitempty"`
	LockBase    string `json:"lock_base,omitempty"`  // a Go duration, "30s"
	LockMax     string `json:"lock_max,omitempty"`   // a Go duration, "1h"
	EnrollTTL   string `json:"enroll_ttl,omitempty"` // a Go duration, "15m"
	MaxBody     int64  `json:"max_body,omitempty"`
	// The defaults of new credentials (Config.Credentials).
	DefaultAlgorithm    string `json:"default_algorithm,omitempty"`
	DefaultDigits       int    `json:"default_digits,omitempty"`
	DefaultPeriod       int    `json:"default_period,omitempty"`
	DefaultSecretLength int    `json:"default_secret_length,omitempty"`
	// HelpdeskPassword also signs in to the /helpdesk page (helpdesk.go).
	HelpdeskPassword string `json:"helpdesk_password,omitempty"`
	// PublicURL is Config.PublicURL, and the OpenID issuer.
	PublicURL string `json:"public_url,omitempty"`
	// SigningAlg is Config.SigningAlg (RS256 or ES256).
	SigningAlg string `json:"signing_alg,omitempty"`
	// SMTPHost turns on the email code grant (config file only, no
	// flags): the mail server, with SMTPFrom its sender. The password is
	// LATCHKEY_SMTP_PASSWORD or the contents of SMTPPasswordFile.
	SMTPHost         string `json:"smtp_host,omitempty"`
	SMTPPort         int    `json:"smtp_port,omitempty"`
	SMTPFrom         string `json:"smtp_from,omitempty"`
	SMTPUsername     string `json:"smtp_username,omitempty"`
	SMTPPasswordFile string `json:"smtp_password_file,omitempty"`
	SMTPSecurity     string `json:"smtp_security,omitempty"` // starttls (default), tls, none
	EmailOTPTTL      string `json:"email_otp_ttl,omitempty"` // a Go duration, 1s..24h, "5m"
	EmailOTPDigits   int    `json:"email_otp_digits,omitempty"`
	EmailOTPSubject  string `json:"email_otp_subject,omitempty"`
	EmailOTPTemplate string `json:"email_otp_template,omitempty"`
	// Challenges an address and a client may start an hour (5, 1000).
	EmailOTPAddressLimit int `json:"email_otp_address_limit,omitempty"`
	EmailOTPClientLimit  int `json:"email_otp_client_limit,omitempty"`
}

// options are Run's settings after flags, config file and environment.
type options struct {
	FileConfig
	newKeyFile string
	window     int
	windowSet  bool
	// adminToken, set by StartLocal, is the admin token; empty means
	// LATCHKEY_ADMIN_TOKEN or the admin-token file.
	adminToken string
}

func parseArgs(name string, args []string, stdout io.Writer) (*options, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{}
	var f FileConfig
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "listen on `ADDR` (host:port)")
	fs.StringVar(&f.DB, "db", "", "SQLite file `PATH`, or a postgres:// URL (default: server.db in the data dir)")
	fs.StringVar(&f.KeyFile, "key-file", "", "master key `FILE` (base64, 32 bytes); else LATCHKEY_MASTER_KEY, else master.key beside the database")
	cfgFile := fs.String("config", "", "JSON config `FILE` (keys: addr, db, key_file, tls_cert, tls_key, window, max_failures, issuer, lock_base, lock_max, enroll_ttl, max_body, default_algorithm, default_digits, default_period, default_secret_length, helpdesk_password, public_url, signing_alg, smtp_host, smtp_port, smtp_from, smtp_username, smtp_password_file, smtp_security, email_otp_ttl, email_otp_digits, email_otp_subject, email_otp_template, email_otp_address_limit, email_otp_client_limit)")
	fs.StringVar(&f.TLSCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM)")
	fs.StringVar(&f.TLSKey, "tls-key", "", "the TLS private key `FILE` (PEM)")
	window := fs.Int("window", 1, "accept codes this many `STEPS` either side of now (0..2)")
	fs.IntVar(&f.MaxFailures, "max-failures", 10, "consecutive failures that lock a user (1..100)")
	fs.StringVar(&f.Issuer, "issuer", DefaultIssuer, "otpauth issuer `NAME` of new credentials")
	fs.StringVar(&f.PublicURL, "public-url", "", "the server's `URL` as users reach it, behind a TLS-terminating proxy (https://host[:port]): the OpenID issuer, enrollment links use it, and https makes the helpdesk's cookies Secure")
	fs.StringVar(&f.SigningAlg, "signing-alg", "", "`ALG` of a new OpenID signing key: RS256 (default) or ES256")
	if name == "rotate-key" {
		fs.StringVar(&o.newKeyFile, "new-key-file", "", "take the new key from (or write it to) `FILE`; default: KEYFILE.new, renamed over the key file when done")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: latchkey serve %s\n\nFlags:\n", Usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, flag.ErrHelp
		}
		return nil, usagef("serve: %v (see 'latchkey serve --help')", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if *cfgFile != "" {
		b, err := os.ReadFile(*cfgFile)
		if err != nil {
			return nil, fmt.Errorf("serve: config: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o.FileConfig); err != nil {
			return nil, fmt.Errorf("serve: config %s: %w", *cfgFile, err)
		}
	}
	pick := func(flagName string, dst *string, v string) {
		if set[flagName] || *dst == "" {
			*dst = v
		}
	}
	pick("addr", &o.Addr, f.Addr)
	pick("db", &o.DB, f.DB)
	pick("key-file", &o.KeyFile, f.KeyFile)
	pick("tls-cert", &o.TLSCert, f.TLSCert)
	pick("tls-key", &o.TLSKey, f.TLSKey)
	pick("issuer", &o.Issuer, f.Issuer)
	pick("public-url", &o.PublicURL, f.PublicURL)
	pick("signing-alg", &o.SigningAlg, f.SigningAlg)
	if (o.SMTPHost == "") != (o.SMTPFrom == "") {
		return nil, usagef("serve: config: smtp_host and smtp_from go together")
	}
	if o.SigningAlg != "" && o.SigningAlg != "RS256" && o.SigningAlg != "ES256" {
		return nil, usagef("serve: --signing-alg must be RS256 or ES256")
	}
	if set["max-failures"] || o.MaxFailures == 0 {
		o.MaxFailures = f.MaxFailures
	}
	o.window, o.windowSet = *window, true
	if !set["window"] && o.Window != nil {
		o.window = *o.Window
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, usagef("serve: --tls-cert and --tls-key go together")
	}
	if o.PublicURL != "" {
		if _, err := ParsePublicURL(o.PublicURL); err != nil {
			return nil, usagef("serve: --public-url: %v", strings.TrimPrefix(err.Error(), "server: "))
		}
	}
	return o, nil
}

// dataDir is where the default database, key file and token file live.
func dataDir(getenv func(string) string) (string, error) {
	if h := getenv("LATCHKEY_HOME"); h != "" {
		return filepath.Join(h, "server"), nil
	}
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "latchkey"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "latchkey"), nil
	}
	return "", errors.New("serve: no data directory: set LATCHKEY_HOME or HOME, or pass --db and --key-file")
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// setup resolves the database, the data directory and the store.
func setup(ctx context.Context, o *options, getenv func(string) string) (dir string, st Store, err error) {
	if o.DB == "" || isPostgres(o.DB) {
		if dir, err = dataDir(getenv); err != nil {
			return "", nil, err
		}
	} else {
		dir = filepath.Dir(o.DB)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("serve: data dir: %w", err)
	}
	if o.DB == "" {
		o.DB = filepath.Join(dir, "server.db")
	}
	if isPostgres(o.DB) {
		st, err = OpenPostgres(ctx, o.DB)
	} else {
		st, err = OpenSQLite(ctx, o.DB)
	}
	return dir, st, err
}

// loadKeys returns the keyring: the primary key from --key-file,
// LATCHKEY_MASTER_KEY or dir/master.key (created 0600 on first start),
// plus KEYFILE.new if an interrupted rotation left one.
func loadKeys(o *options, dir string, getenv func(string) string, log *slog.Logger) (*Keyring, string, error) {
	var key []byte
	var err error
	path := o.KeyFile
	switch {
	case path != "":
		if key, err = ReadKeyFile(path); err != nil {
			return nil, "", err
		}
	case getenv("LATCHKEY_MASTER_KEY") != "":
		if key, err = ParseKey(getenv("LATCHKEY_MASTER_KEY")); err != nil {
			return nil, "", fmt.Errorf("LATCHKEY_MASTER_KEY: %w", err)
		}
	default:
		path = filepath.Join(dir, "master.key")
		key, err = ReadKeyFile(path)
		if errors.Is(err, os.ErrNotExist) {
			if key, err = NewKey(); err != nil {
				return nil, "", err
			}
			if err = WriteKeyFile(path, key); err != nil {
				return nil, "", err
			}
			log.Warn("created a master key file; keep it apart from database backups, or pass --key-file or LATCHKEY_MASTER_KEY", "path", path)
		}
		if err != nil {
			return nil, "", err
		}
	}
	var older [][]byte
	if path != "" {
		if k, err := ReadKeyFile(path + ".new"); err == nil {
			older = append(older, k)
		}
	}
	kr, err := NewKeyring(key, older...)
	return kr, path, err
}

// checkKey refuses to start a server whose master key cannot open the
// stored secrets: with several instances on one PostgreSQL, an instance
// that made its own key file would otherwise fail every verification.
func checkKey(ctx context.Context, st Store, kr *Keyring) error {
	s, ok := st.(interface {
		newestSealed(ctx context.Context) (user, id string, sealed []byte, ok bool, err error)
	})
	if !ok {
		return nil
	}
	user, id, sealed, found, err := s.newestSealed(ctx)
	if err != nil || !found {
		return err
	}
	secret, err := kr.Open(sealed, user, id)
	if err != nil {
		return fmt.Errorf("serve: the stored secrets do not open with this master key (%w); give every instance the same --key-file or LATCHKEY_MASTER_KEY", err)
	}
	secret.Wipe()
	return nil
}

// adminToken returns LATCHKEY_ADMIN_TOKEN or the token in dir/admin-token,
// creating that file (0600) on first start. It logs the path, never the
// token.
func adminToken(dir string, getenv func(string) string, log *slog.Logger) (string, error) {
	if t := strings.TrimSpace(getenv("LATCHKEY_ADMIN_TOKEN")); t != "" {
		return t, nil
	}
	path := filepath.Join(dir, "admin-token")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		log.Info("admin token read from file", "path", path)
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := randomToken(32)
	if err := atomicfile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	log.Warn("generated an admin token; read it from the file (0600)", "path", path)
	return tok, nil
}

// Run runs the server (or `rotate-key`) as `latchkey serve` does: args
// are the flags after "serve"; logs go to stderr as JSON; it returns when
// ctx is done (SIGTERM, for the command) after a graceful shutdown.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if len(args) > 0 && args[0] == "rotate-key" {
		return runRotate(ctx, args[1:], getenv, stdout, log)
	}
	if len(args) > 0 && (args[0] == "rotate-signing-key" || args[0] == "metadata" || args[0] == "jwks") {
		return runProvider(ctx, args[0], args[1:], getenv, stdout, log)
	}
	o, err := parseArgs("serve", args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	srv, closeAll, err := open(ctx, o, getenv, log)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := srv.oidc.EnsureKeys(ctx); err != nil {
		return fmt.Errorf("serve: signing keys: %w", err)
	}
	return srv.ListenAndServe(ctx, o.Addr, o.TLSCert, o.TLSKey, stdout)
}

// open is the startup shared by Run and StartLocal: it opens the store,
// the keyring and the admin token that o and the environment name, and
// returns a server on them. closeAll closes the server, then the store.
func open(ctx context.Context, o *options, getenv func(string) string, log *slog.Logger) (srv *Server, closeAll func(), err error) {
	dir, st, err := setup(ctx, o, getenv)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	kr, _, err := loadKeys(o, dir, getenv, log)
	if err != nil {
		return nil, nil, err
	}
	if err := checkKey(ctx, st, kr); err != nil {
		return nil, nil, err
	}
	tok := o.adminToken
	if tok == "" {
		if tok, err = adminToken(dir, getenv, log); err != nil {
			return nil, nil, err
		}
	}
	cfg := Config{Store: st, Keyring: kr, AdminToken: tok, Logger: log, Window: o.window, WindowSet: o.windowSet,
		MaxFailures: o.MaxFailures, Issuer: o.Issuer, MaxBody: o.MaxBody}
	cfg.HelpdeskPassword = o.HelpdeskPassword
	cfg.Credentials = CredentialPolicy{Algorithm: o.DefaultAlgorithm, Digits: o.DefaultDigits, Period: o.DefaultPeriod,
		SecretLength: o.DefaultSecretLength}
	cfg.PublicURL = o.PublicURL
	cfg.SigningAlg = o.SigningAlg
	if cfg.Mailer, cfg.EmailOTP, err = emailSettings(o.FileConfig, getenv); err != nil {
		return nil, nil, usagef("serve: config: %v", err)
	}
	cfg.MetricsToken = strings.TrimSpace(getenv("LATCHKEY_METRICS_TOKEN"))
	if o.LockBase != "" {
		if cfg.LockBase, err = time.ParseDuration(o.LockBase); err != nil {
			return nil, nil, fmt.Errorf("serve: lock_base: %w", err)
		}
	}
	if o.LockMax != "" {
		if cfg.LockMax, err = time.ParseDuration(o.LockMax); err != nil {
			return nil, nil, fmt.Errorf("serve: lock_max: %w", err)
		}
	}
	if o.EnrollTTL != "" {
		if cfg.EnrollTTL, err = time.ParseDuration(o.EnrollTTL); err != nil {
			return nil, nil, fmt.Errorf("serve: enroll_ttl: %w", err)
		}
	}
	if srv, err = New(cfg); err != nil {
		return nil, nil, err
	}
	return srv, func() { srv.Close(); st.Close() }, nil
}

// ListenAndServe serves on addr (HTTPS when certFile and keyFile are set)
// until ctx is done, then shuts down gracefully: in-flight requests get
// up to 10 seconds. It prints the URL it listens on to stdout.
func (s *Server) ListenAndServe(ctx context.Context, addr, certFile, keyFile string, stdout io.Writer) error {
	ln, hs, url, err := s.listen(ctx, addr, certFile, keyFile)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "latchkey serve: listening on "+url)
	return s.serve(ctx, ln, hs)
}

// listen opens addr (TLS when certFile and keyFile are set) and returns
// the listener, the http.Server to serve it with and its URL.
func (s *Server) listen(ctx context.Context, addr, certFile, keyFile string) (net.Listener, *http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, "", fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	scheme := "http"
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return nil, nil, "", fmt.Errorf("serve: tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	s.log.Info("listening", "url", url)
	if s.cfg.PublicURL == "" {
		if iss, err := listenIssuer(scheme, ln.Addr().String()); err != nil {
			s.log.Warn("OpenID endpoints disabled (they answer 404): " + err.Error())
		} else {
			s.oidc.SetIssuer(iss)
			s.log.Info("OpenID issuer", "issuer", iss)
		}
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() && s.cfg.PublicURL == "" {
		s.log.Warn("listening beyond loopback without public_url: enrollment links are built from each request's Host header, which a client chooses; set --public-url", "addr", ln.Addr().String())
	}
	return ln, hs, url, nil
}

// serve serves ln with hs and sweeps expired enrollments until ctx is
// done, then shuts down gracefully: in-flight requests get up to 10
// seconds.
func (s *Server) serve(ctx context.Context, ln net.Listener, hs *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-sweep.C:
			if n, err := s.SweepExpired(ctx); err != nil {
				s.log.Error("sweeping expired credentials", "err", err)
			} else if n > 0 {
				s.log.Info("expired unverified credentials deleted", "count", n)
			}
		case <-ctx.Done():
			s.log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				hs.Close()
				return fmt.Errorf("serve: shutdown: %w", err)
			}
			s.log.Info("stopped")
			return nil
		}
	}
}

// runRotate re-encrypts every secret under a new master key.
func runRotate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	o, err := parseArgs("rotate-key", args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	dir, st, err := setup(ctx, o, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	old, keyPath, err := loadKeys(o, dir, getenv, log)
	if err != nil {
		return err
	}
	newPath := o.newKeyFile
	if newPath == "" {
		if keyPath == "" {
			return errors.New("rotate-key: the key comes from LATCHKEY_MASTER_KEY; pass --new-key-file to receive the new key")
		}
		newPath = keyPath + ".new"
	}
	// Reuse a new key left by an interrupted rotation, so that rows already
	// re-encrypted stay readable.
	newKey, err := ReadKeyFile(newPath)
	if errors.Is(err, os.ErrNotExist) {
		if newKey, err = NewKey(); err == nil {
			err = WriteKeyFile(newPath, newKey)
		}
	}
	if err != nil {
		return fmt.Errorf("rotate-key: %w", err)
	}
	kr, err := NewKeyring(newKey, old.keys()...)
	if err != nil {
		return err
	}
	n, err := st.Reseal(ctx, func(user, id string, sealed []byte) ([]byte, error) { return kr.Reseal(sealed, user, id) })
	if err != nil {
		return fmt.Errorf("rotate-key: %w (nothing changed)", err)
	}
	// The signing keys too; the old key still opens them, so a failure
	// here is safe to retry (the new key file is kept for the rerun).
	nk, err := oidc.ResealSigningKeys(ctx, st, sealer{kr}, sealer{kr})
	if err != nil {
		return fmt.Errorf("rotate-key: signing keys: %w (run it again)", err)
	}
	if o.newKeyFile == "" {
		if err := os.Rename(newPath, keyPath); err != nil {
			return fmt.Errorf("rotate-key: secrets are under the key in %s now, but renaming it over %s failed: %w", newPath, keyPath, err)
		}
		newPath = keyPath
	}
	log.Info("master key rotated", "credentials", n, "signing_keys", nk, "key_file", newPath)
	fmt.Fprintf(stdout, "re-encrypted %d secrets under the key in %s; restart running servers with it\n", n, newPath)
	return nil
}

// listenIssuer is the OpenID issuer of a server without a public URL: its
// scheme and listen address. A wildcard address has none, since the
// issuer must not come from a request's Host header.
func listenIssuer(scheme, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("no issuer for listen address %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) || port == "0" {
		return "", fmt.Errorf("the listen address %s is not one a client can use as the issuer; set --public-url", addr)
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// runProvider runs `serve rotate-signing-key`, `serve metadata` and
// `serve jwks` against the database the flags name.
func runProvider(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	o, err := parseArgs(cmd, args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	o.adminToken = randomToken(32) // no admin API is served; leave the token file alone
	srv, closeAll, err := open(ctx, o, getenv, log)
	if err != nil {
		return err
	}
	defer closeAll()
	p := srv.oidc
	if cmd == "rotate-signing-key" {
		alg := cmp.Or(o.SigningAlg, "RS256")
		k, err := oidc.RotateSigningKey(ctx, srv.store, sealer{srv.keys}, alg, time.Now())
		if err != nil {
			return fmt.Errorf("rotate-signing-key: %w", err)
		}
		log.Info("signing key rotated", "kid", k.KID, "alg", k.Alg)
		fmt.Fprintf(stdout, "new signing key %s (%s); running servers use it within %v, and the previous key leaves the JWKS after %v\n",
			k.KID, k.Alg, oidc.KeyReload, oidc.RetireAfter)
		return nil
	}
	if o.PublicURL == "" {
		scheme := "http"
		if o.TLSCert != "" {
			scheme = "https"
		}
		iss, err := listenIssuer(scheme, o.Addr)
		if err != nil {
			return usagef("serve %s: %v", cmd, err)
		}
		p.SetIssuer(iss)
	}
	if err := p.EnsureKeys(ctx); err != nil {
		return fmt.Errorf("serve %s: %w", cmd, err)
	}
	var doc any
	if cmd == "metadata" {
		doc, err = p.Metadata(ctx)
	} else {
		doc, err = p.JWKS(ctx)
	}
	if err != nil {
		return fmt.Errorf("serve %s: %w", cmd, err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// emailSettings turns the smtp_* and email_otp_* keys into the email
// code grant's mailer and settings; without smtp_host the grant is off
// and the other keys are refused, so that a typo is not silently ignored.
func emailSettings(o FileConfig, getenv func(string) string) (emailotp.Mailer, emailotp.Settings, error) {
	var set emailotp.Settings
	if o.SMTPHost == "" {
		if o.SMTPPort != 0 || o.SMTPUsername != "" || o.SMTPPasswordFile != "" || o.SMTPSecurity != "" || o.EmailOTPTTL != "" ||
			o.EmailOTPDigits != 0 || o.EmailOTPSubject != "" || o.EmailOTPTemplate != "" || o.EmailOTPAddressLimit != 0 ||
			o.EmailOTPClientLimit != 0 {
			return nil, set, errors.New("smtp_* and email_otp_* keys need smtp_host")
		}
		return nil, set, nil
	}
	pw := getenv("LATCHKEY_SMTP_PASSWORD")
	if o.SMTPPasswordFile != "" {
		if pw != "" {
			return nil, set, errors.New("the SMTP password is in LATCHKEY_SMTP_PASSWORD or smtp_password_file, not both")
		}
		b, err := os.ReadFile(o.SMTPPasswordFile)
		if err != nil {
			return nil, set, fmt.Errorf("smtp_password_file: %w", err)
		}
		pw = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	if pw != "" && o.SMTPUsername == "" {
		return nil, set, errors.New("an SMTP password needs smtp_username")
	}
	m, err := emailotp.NewSMTP(emailotp.SMTPConfig{Host: o.SMTPHost, Port: o.SMTPPort, Security: o.SMTPSecurity,
		Username: o.SMTPUsername, Password: pw, From: o.SMTPFrom})
	if err != nil {
		return nil, set, err
	}
	if o.EmailOTPTTL != "" {
		if set.TTL, err = time.ParseDuration(o.EmailOTPTTL); err != nil {
			return nil, set, fmt.Errorf("email_otp_ttl: %w", err)
		}
		if set.TTL <= 0 {
			return nil, set, fmt.Errorf("email_otp_ttl %s: want 1s to 24h", o.EmailOTPTTL)
		}
	}
	set.Digits, set.Subject, set.Template = o.EmailOTPDigits, o.EmailOTPSubject, o.EmailOTPTemplate
	set.AddressLimit, set.ClientLimit = o.EmailOTPAddressLimit, o.EmailOTPClientLimit
	set, err = set.Check()
	return m, set, err
}
