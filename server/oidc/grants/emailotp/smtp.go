package emailotp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends mail through one SMTP server with go-mail, one connection
// per message (a code is a few messages a minute at most; a pool would
// only add state).
type SMTP struct {
	from    string
	host    string
	opts    []gomail.Option
	timeout time.Duration
}

// SMTPConfig describes the mail server.
type SMTPConfig struct {
	// URL is smtp://[USER@]HOST[:PORT] (STARTTLS, port 587) or
	// smtps://[USER@]HOST[:PORT] (TLS from the start, port 465). TLS is
	// required, except to a loopback host (a local MTA), where smtp://
	// uses STARTTLS when offered. A password in the URL is refused: it
	// goes in Password.
	URL string
	// Password is the SMTP AUTH password (LATCHKEY_SMTP_PASSWORD); with
	// a user in the URL the strongest mechanism the server offers is used
	// (PLAIN, also without TLS, to a loopback host).
	Password string
	// From is the sender address.
	From string
	// Timeout bounds connecting and each command (10 s).
	Timeout time.Duration
}

// NewSMTP checks cfg and returns a mailer; it does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Hostname() == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("smtp: %q: want smtp://[user@]host[:port] or smtps://...", cfg.URL)
	}
	if _, ok := u.User.Password(); ok {
		return nil, errors.New("smtp: put the password in LATCHKEY_SMTP_PASSWORD, not in the URL")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: sender %q: %v", cfg.From, err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	host := u.Hostname()
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("smtp: bad port %q", p)
		}
	}
	switch u.Scheme {
	case "smtps":
		opts = append(opts, gomail.WithSSL(), gomail.WithPort(cmpOr(port, 465)))
	case "smtp":
		policy := gomail.TLSMandatory
		if isLoopback(host) {
			policy = gomail.TLSOpportunistic
		}
		opts = append(opts, gomail.WithTLSPolicy(policy), gomail.WithPort(cmpOr(port, 587)))
	default:
		return nil, fmt.Errorf("smtp: scheme %q: want smtp or smtps", u.Scheme)
	}
	if user := u.User.Username(); user != "" {
		// go-mail's discovery never picks PLAIN without TLS; to a
		// loopback MTA the password does not leave the machine, so PLAIN
		// is allowed there.
		auth := gomail.SMTPAuthAutoDiscover
		if u.Scheme == "smtp" && isLoopback(host) {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(user), gomail.WithPassword(cfg.Password))
	}
	return &SMTP{from: from.String(), host: host, opts: opts, timeout: cfg.Timeout}, nil
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

// Send mails a plain-text message. Errors name the server's answer but
// never the body (it holds a code).
func (s *SMTP) Send(ctx context.Context, to, subject, body string) error {
	m := gomail.NewMsg()
	if err := m.From(s.from); err != nil {
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
