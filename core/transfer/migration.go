package transfer

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"latchkey/core/otp"
	pb "latchkey/core/transfer/internal/migrationpb"
)

// MigrationBatchSize is how many accounts MigrationURIs puts in one
// otpauth-migration URI by default, as Google Authenticator does, so that
// each QR code stays easy for a phone camera to read.
const MigrationBatchSize = 10

// maxMigrationPayload bounds the URI length MigrationURIs aims for per
// batch (a version-25-ish QR at medium error correction).
const maxMigrationPayload = 1200

// ParseMigration reads Google Authenticator otpauth-migration://offline
// URIs, all the batches of one export (in any order; a batch seen twice is
// read once). Entries with MD5 or other parameters Latchkey cannot use
// are returned with Unsupported set. A warning names missing batches.
func ParseMigration(uris []string) ([]Entry, []string, error) {
	where := make([]string, len(uris))
	for i := range uris {
		where[i] = fmt.Sprintf("migration URI %d", i+1)
	}
	return parseMigration(uris, where)
}

type batchKey struct{ id, index int32 }

func parseMigration(uris, where []string) ([]Entry, []string, error) {
	var entries []Entry
	var warnings []string
	seen := map[batchKey]bool{}
	sizes := map[int32]int32{}
	payloads := map[string]bool{}
	for i, s := range uris {
		p, raw, err := decodeMigration(s)
		if err != nil {
			return nil, nil, &EntryError{Where: where[i], Err: err}
		}
		// The same QR code scanned twice is read once.
		if payloads[string(raw)] {
			continue
		}
		payloads[string(raw)] = true
		seen[batchKey{p.GetBatchId(), p.GetBatchIndex()}] = true
		if p.GetBatchSize() > 1 {
			sizes[p.GetBatchId()] = p.GetBatchSize()
		}
		for j, op := range p.GetOtpParameters() {
			e, err := migrationEntry(op)
			if err != nil {
				return nil, nil, &EntryError{Where: fmt.Sprintf("%s, account %d", where[i], j+1), Label: e.Label(), Err: err}
			}
			entries = append(entries, e)
			if len(entries) > MaxEntries {
				return nil, nil, tooMany()
			}
		}
	}
	ids := make([]int32, 0, len(sizes))
	for id := range sizes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		size := sizes[id]
		var missing []string
		for i := int32(0); i < size && len(missing) < 100; i++ {
			if !seen[batchKey{id, i}] {
				missing = append(missing, fmt.Sprint(i+1))
			}
		}
		if len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("Google Authenticator export: QR code %s of %d missing; import the others too to get every account", strings.Join(missing, ", "), size))
		}
	}
	return entries, warnings, nil
}

func decodeMigration(s string) (*pb.MigrationPayload, []byte, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxInput {
		return nil, nil, ErrTooLarge
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.EqualFold(scheme, "otpauth-migration") {
		return nil, nil, errors.New("not an otpauth-migration:// URI")
	}
	host, query, _ := strings.Cut(rest, "?")
	if !strings.EqualFold(strings.TrimSuffix(host, "/"), "offline") {
		return nil, nil, fmt.Errorf("unknown otpauth-migration kind %q (want offline)", clip(host))
	}
	var data string
	found := false
	for _, kv := range strings.Split(query, "&") {
		if v, ok := strings.CutPrefix(kv, "data="); ok {
			data, found = v, true
			break
		}
	}
	if !found || data == "" {
		return nil, nil, errors.New("no data parameter")
	}
	// PathUnescape, not QueryUnescape: some tools leave the base64 '+'
	// unescaped, and it must not become a space.
	data, err := url.PathUnescape(data)
	if err != nil {
		return nil, nil, errors.New("data: bad percent-encoding")
	}
	data = strings.TrimRight(strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\n', '\r', '\t':
			return -1
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, data), "=")
	raw, err := base64.RawStdEncoding.DecodeString(data)
	if err != nil {
		return nil, nil, errors.New("data: not valid base64")
	}
	var p pb.MigrationPayload
	if err := proto.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("%w: data: not a migration payload", ErrCorrupt)
	}
	return &p, raw, nil
}

func migrationEntry(op *pb.MigrationPayload_OtpParameters) (Entry, error) {
	var e Entry
	k := &e.Key
	k.Issuer = strings.TrimSpace(op.GetIssuer())
	name := op.GetName()
	if k.Issuer == "" {
		if i, a, ok := strings.Cut(name, ":"); ok {
			k.Issuer = strings.TrimSpace(i)
			name = a
		}
	}
	k.Account = trimLabel(k.Issuer, name)
	k.Secret = otp.Secret(slices.Clone(op.GetSecret()))
	switch op.GetAlgorithm() {
	case pb.MigrationPayload_ALGORITHM_UNSPECIFIED, pb.MigrationPayload_ALGORITHM_SHA1:
		k.Algorithm = otp.SHA1
	case pb.MigrationPayload_ALGORITHM_SHA256:
		k.Algorithm = otp.SHA256
	case pb.MigrationPayload_ALGORITHM_SHA512:
		k.Algorithm = otp.SHA512
	case pb.MigrationPayload_ALGORITHM_MD5:
		e.Unsupported = "MD5 is not supported (SHA1, SHA256 and SHA512 are)"
	default:
		e.Unsupported = fmt.Sprintf("unknown algorithm %d", op.GetAlgorithm())
	}
	switch op.GetDigits() {
	case pb.MigrationPayload_DIGIT_COUNT_UNSPECIFIED, pb.MigrationPayload_DIGIT_COUNT_SIX:
		k.Digits = 6
	case pb.MigrationPayload_DIGIT_COUNT_EIGHT:
		k.Digits = 8
	default:
		e.Unsupported = fmt.Sprintf("unknown digit count %d", op.GetDigits())
	}
	switch op.GetType() {
	case pb.MigrationPayload_OTP_TYPE_UNSPECIFIED, pb.MigrationPayload_OTP_TYPE_TOTP:
		k.Type = otp.TOTP
	case pb.MigrationPayload_OTP_TYPE_HOTP:
		k.Type = otp.HOTP
		if op.GetCounter() < 0 {
			return e, errors.New("negative counter")
		}
		k.Counter = uint64(op.GetCounter())
	default:
		e.Unsupported = fmt.Sprintf("unknown type %d", op.GetType())
	}
	k.Period = otp.DefaultPeriod
	return e, check(&e)
}

// MigrationURIs encodes entries as Google Authenticator
// otpauth-migration://offline URIs, at most perBatch accounts per URI
// (MigrationBatchSize when perBatch <= 0) and fewer when their names are
// long, so each fits a QR code a phone reads easily. Entries the format
// cannot carry (Steam Guard keys, a period other than 30 seconds, 7
// digits, a counter beyond int64) are skipped and returned with the
// reason.
func MigrationURIs(entries []Entry, perBatch int) ([]string, []Skipped, error) {
	if perBatch <= 0 {
		perBatch = MigrationBatchSize
	}
	var params []*pb.MigrationPayload_OtpParameters
	var skipped []Skipped
	for i := range entries {
		e := &entries[i]
		op, reason := migrationParams(e)
		if reason != "" {
			skipped = append(skipped, Skipped{e.Label(), reason})
			continue
		}
		params = append(params, op)
	}
	// Split into batches by count and by encoded size.
	var batches [][]*pb.MigrationPayload_OtpParameters
	var cur []*pb.MigrationPayload_OtpParameters
	size := 0
	for _, op := range params {
		n := proto.Size(op) + 4
		if len(cur) > 0 && (len(cur) >= perBatch || (size+n)*4/3 > maxMigrationPayload) {
			batches = append(batches, cur)
			cur, size = nil, 0
		}
		cur = append(cur, op)
		size += n
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	var idb [4]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, nil, fmt.Errorf("migration: batch id: %w", err)
	}
	id := int32(binary.BigEndian.Uint32(idb[:]) & 0x7fffffff)
	uris := make([]string, 0, len(batches))
	for i, b := range batches {
		p := &pb.MigrationPayload{
			OtpParameters: b,
			Version:       1,
			BatchSize:     int32(len(batches)),
			BatchIndex:    int32(i),
			BatchId:       id,
		}
		raw, err := proto.Marshal(p)
		if err != nil {
			return nil, nil, fmt.Errorf("migration: encode batch %d: %w", i+1, err)
		}
		uris = append(uris, "otpauth-migration://offline?data="+url.QueryEscape(base64.StdEncoding.EncodeToString(raw)))
	}
	return uris, skipped, nil
}

func migrationParams(e *Entry) (*pb.MigrationPayload_OtpParameters, string) {
	if e.Unsupported != "" {
		return nil, e.Unsupported
	}
	k := &e.Key
	if k.Type == otp.Steam {
		return nil, "Google Authenticator exports cannot carry Steam Guard codes"
	}
	op := &pb.MigrationPayload_OtpParameters{
		Secret: []byte(k.Secret),
		Name:   k.Account,
		Issuer: k.Issuer,
	}
	if k.Issuer == "" && strings.Contains(k.Account, ":") {
		// An empty prefix keeps the colon from being read as one.
		op.Name = ":" + k.Account
	}
	switch k.Algorithm {
	case otp.SHA1:
		op.Algorithm = pb.MigrationPayload_ALGORITHM_SHA1
	case otp.SHA256:
		op.Algorithm = pb.MigrationPayload_ALGORITHM_SHA256
	case otp.SHA512:
		op.Algorithm = pb.MigrationPayload_ALGORITHM_SHA512
	default:
		return nil, "unknown algorithm"
	}
	switch k.Digits {
	case 0, 6:
		op.Digits = pb.MigrationPayload_DIGIT_COUNT_SIX
	case 8:
		op.Digits = pb.MigrationPayload_DIGIT_COUNT_EIGHT
	default:
		return nil, fmt.Sprintf("Google Authenticator exports carry 6 or 8 digits, not %d", k.Digits)
	}
	switch k.Type {
	case otp.TOTP:
		if k.Period != 0 && k.Period != otp.DefaultPeriod {
			return nil, fmt.Sprintf("Google Authenticator exports carry a 30-second period, not %d", k.Period)
		}
		op.Type = pb.MigrationPayload_OTP_TYPE_TOTP
	case otp.HOTP:
		if k.Counter > 1<<63-1 {
			return nil, "the counter is too large for a Google Authenticator export"
		}
		op.Type = pb.MigrationPayload_OTP_TYPE_HOTP
		op.Counter = int64(k.Counter)
	default:
		return nil, "unknown type"
	}
	return op, ""
}
