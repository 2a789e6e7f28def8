package transfer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Proton Pass exports, as Proton's own importer reads them back
// (ProtonMail/WebClients packages/pass/lib/import/providers: the CSV
// columns in protonpass.csv.types.ts) and KeePassXC's ProtonPassReader
// reads the JSON:
//   - CSV: type,name,url,email,username,password,note,totp,createTime,
//     modifyTime,vault, one row per item;
//   - JSON (data.json of the unencrypted export): {"encrypted": false,
//     "vaults": {"ID": {"name", "items": [{"state", "data": {"type":
//     "login", "metadata": {"name"}, "content": {"itemEmail",
//     "itemUsername", "totpUri"}, "extraFields": [{"fieldName", "type":
//     "totp", "data": {"totpUri"}}]}}]}}}.
// Items in the trash have state 2; they are reported, not imported. The
// vault's name becomes a tag.

type protonExport struct {
	Encrypted bool                   `json:"encrypted"`
	Vaults    map[string]protonVault `json:"vaults"`
}

type protonVault struct {
	Name  string       `json:"name"`
	Items []protonItem `json:"items"`
}

type protonItem struct {
	State int `json:"state"`
	Data  struct {
		Type     string `json:"type"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Content struct {
			ItemEmail    string `json:"itemEmail"`
			ItemUsername string `json:"itemUsername"`
			TOTPURI      string `json:"totpUri"`
		} `json:"content"`
		ExtraFields []struct {
			FieldName string `json:"fieldName"`
			Type      string `json:"type"`
			Data      struct {
				TOTPURI string `json:"totpUri"`
			} `json:"data"`
		} `json:"extraFields"`
	} `json:"data"`
}

// ParseProtonPass reads a Proton Pass export, JSON or CSV. It returns an
// entry per one-time code (a login's own and those in its extra fields)
// and the number of logins without one.
func ParseProtonPass(data []byte) ([]Entry, int, error) {
	if t := trimJSON(data); len(t) > 0 && t[0] == '{' {
		return parseProtonJSON(t)
	}
	return parseProtonCSV(data)
}

func parseProtonJSON(data []byte) ([]Entry, int, error) {
	var x protonExport
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, 0, fmt.Errorf("%w: proton pass: %s", ErrCorrupt, jsonProblem(err))
	}
	if x.Encrypted {
		return nil, 0, fmt.Errorf("%w: proton pass: an encrypted (PGP) export; export again without encryption, import data.json, then delete it", ErrFormat)
	}
	var entries []Entry
	noOTP := 0
	// Map order is random: read the vaults by name for a stable import.
	ids := make([]string, 0, len(x.Vaults))
	for id := range x.Vaults {
		ids = append(ids, id)
	}
	sortVaults(ids, x.Vaults)
	for _, id := range ids {
		v := x.Vaults[id]
		for _, it := range v.Items {
			d := &it.Data
			user := d.Content.ItemUsername
			if user == "" {
				user = d.Content.ItemEmail
			}
			var fields []string
			if d.Type == "login" && strings.TrimSpace(d.Content.TOTPURI) != "" {
				fields = append(fields, d.Content.TOTPURI)
			}
			for _, f := range d.ExtraFields {
				if strings.EqualFold(f.Type, "totp") && strings.TrimSpace(f.Data.TOTPURI) != "" {
					fields = append(fields, f.Data.TOTPURI)
				}
			}
			if len(fields) == 0 {
				if d.Type == "login" {
					noOTP++
				}
				continue
			}
			for _, f := range fields {
				e := protonEntry(f, d.Metadata.Name, user, v.Name, it.State == 2)
				entries = append(entries, e)
			}
			if len(entries) > MaxEntries {
				return nil, 0, tooMany()
			}
		}
	}
	return entries, noOTP, nil
}

func sortVaults(ids []string, vaults map[string]protonVault) {
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(vaults[a].Name, vaults[b].Name), cmp.Compare(a, b))
	})
}

func protonEntry(field, name, user, vault string, trashed bool) Entry {
	e := otpField(field, name, user)
	if v := strings.TrimSpace(vault); v != "" {
		e.Tags = []string{v}
	}
	if trashed && e.Unsupported == "" {
		e.Unsupported = "it is in Proton Pass's trash"
		e.Key.Secret = nil
	}
	return e
}

func parseProtonCSV(data []byte) ([]Entry, int, error) {
	rows, err := readCSV(data, "proton pass")
	if err != nil {
		return nil, 0, err
	}
	var entries []Entry
	noOTP := 0
	for _, r := range rows {
		if strings.TrimSpace(r["totp"]) == "" {
			if r["type"] == "login" {
				noOTP++
			}
			continue
		}
		user := r["username"]
		if user == "" {
			user = r["email"]
		}
		entries = append(entries, protonEntry(r["totp"], r["name"], user, r["vault"], false))
		if len(entries) > MaxEntries {
			return nil, 0, tooMany()
		}
	}
	return entries, noOTP, nil
}
