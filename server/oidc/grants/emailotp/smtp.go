package emailotp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP security modes (the smtp_security setting).
const (
	// SecuritySTARTTLS upgrades the connection with STARTTLS and refuses
	// a server that does not offer it (the default; port 587).
	SecuritySTARTTLS = "starttls"
	// SecurityTLS speaks TLS from the start (port 465).
	SecurityTLS = "tls"
	// SecurityNone sends in the clear (port 25); AUTH is then allowed only
	// to a loopback host, where the password does not leave the machine.
	SecurityNone = "none"
)

// SMTP sends mail through one SMTP server with go-mail, one connection
// per message (a code is a few messages a minute at most; a pool would
// only add state).
type SMTP struct {
	from *mail.Address
	host string
	opts []gomail.Option
}

// SMTPConfig describes the mail server: the smtp_* settings.
type SMTPConfig struct {
	// Host is the mail server (smtp_host).
	Host string
	// Port is its port (smtp_port): 587 for starttls, 465 for tls, 25
	// for none when zero.
	Port int
	// Security is starttls (default), tls or none (smtp_security).
	Security string
	// Username, when set, turns on SMTP AUTH with Password
	// (LATCHKEY_SMTP_PASSWORD or smtp_password_file); the strongest
	// mechanism the server offers is used.
	Username string
	Password string
	// From is the sender, "codes@example.com" or "Name <codes@...>" (smtp_from).
	From string
	// Timeout bounds connecting and each command (10 s).
	Timeout time.Duration
	// RootCAs verify the server's certificate; nil means the system's.
	RootCAs *x509.CertPool
}

// ErrHeader is returned for a CR or LF in a value that goes into a mail
// header or an SMTP command.
var ErrHeader = errors.New("line break in a header value")

// noBreak refuses CR and LF (header injection) in v.
func noBreak(name, v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("%s: %w", name, ErrHeader)
	}
	return nil
}

// NewSMTP checks cfg and returns a mailer; it does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	for _, f := range []struct{ name, v string }{{"smtp_host", cfg.Host}, {"smtp_from", cfg.From},
		{"smtp_username", cfg.Username}, {"smtp password", cfg.Password}} {
		if err := noBreak(f.name, f.v); err != nil {
			return nil, fmt.Errorf("smtp: %w", err)
		}
	}
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " /:@") && net.ParseIP(cfg.Host) == nil {
		return nil, fmt.Errorf("smtp: smtp_host %q: want a host name or an IP address", cfg.Host)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: smtp_port %d: want 1..65535", cfg.Port)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: smtp_from %q: %v", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout), gomail.WithTLSConfig(tc)}
	auth := gomail.SMTPAuthAutoDiscover
	switch cfg.Security {
	case "", SecuritySTARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithPort(cmpOr(cfg.Port, 587)))
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(cmpOr(cfg.Port, 465)))
	case SecurityNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithPort(cmpOr(cfg.Port, 25)))
		if cfg.Username != "" && !isLoopback(cfg.Host) {
			return nil, errors.New("smtp: smtp_security none with smtp_username would send the password in the clear; use starttls or tls")
		}
		// go-mail's discovery never picks PLAIN without TLS; to a loopback
		// MTA the password does not leave the machine.
		auth = gomail.SMTPAuthPlainNoEnc
	default:
		return nil, fmt.Errorf("smtp: smtp_security %q: want starttls, tls or none", cfg.Security)
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	return &SMTP{from: from, host: cfg.Host, opts: opts}, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send mails a MIME text/plain UTF-8 message with Date and Message-ID.
// It returns once the server accepted the message. Errors name the
// server's answer but never the body (it holds a code).
func (s *SMTP) Send(ctx context.Context, to, subject, body string) error {
	if err := errors.Join(noBreak("to", to), noBreak("subject", subject)); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	m := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := m.FromFormat(s.from.Name, s.from.Address); err != nil {
		return fmt.Errorf("smtp: from: %w", err)
	}
	if err := m.To(to); err != nil {
		return fmt.Errorf("smtp: to: %w", err)
	}
	m.Subject(subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(gomail.TypeTextPlain, body)
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}
