package transfer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Bitwarden exports, as Bitwarden's help pages ("Export vault data",
// "Condition a Bitwarden .csv or .json") and its clients' exporters
// describe them:
//   - JSON: {"encrypted": false, "folders": [{"id", "name"}], "items": [...]}
//     where a login item is {"type": 1, "name", "folderId",
//     "login": {"username", "totp", ...}}; organization exports name
//     "collections" and "collectionIds" instead of folders.
//   - CSV: the header folder,favorite,type,name,notes,fields,reprompt,
//     login_uri,login_username,login_password,login_totp, one row per item.
// login.totp / login_totp is an otpauth URI, a bare base32 secret (TOTP,
// SHA1, 6 digits, 30 s) or steam://SECRET.

type bitwardenExport struct {
	Encrypted   bool              `json:"encrypted"`
	Folders     []bitwardenFolder `json:"folders"`
	Collections []bitwardenFolder `json:"collections"`
	Items       []bitwardenItem   `json:"items"`
}

type bitwardenFolder struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type bitwardenItem struct {
	Type          int      `json:"type"`
	Name          string   `json:"name"`
	FolderID      string   `json:"folderId"`
	CollectionIDs []string `json:"collectionIds"`
	Login         *struct {
		Username string `json:"username"`
		TOTP     string `json:"totp"`
	} `json:"login"`
}

// ParseBitwarden reads a Bitwarden export, JSON or CSV. It returns an
// entry per item with a one-time code and the number of logins without
// one. Password-protected (encrypted) JSON exports are refused with a
// message saying how to export instead.
func ParseBitwarden(data []byte) ([]Entry, int, error) {
	if t := trimJSON(data); len(t) > 0 && t[0] == '{' {
		return parseBitwardenJSON(t)
	}
	return parseBitwardenCSV(data)
}

func parseBitwardenJSON(data []byte) ([]Entry, int, error) {
	var x bitwardenExport
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, 0, fmt.Errorf("%w: bitwarden: %s", ErrCorrupt, jsonProblem(err))
	}
	if x.Encrypted {
		return nil, 0, fmt.Errorf("%w: bitwarden: an encrypted export; export the vault again as .json or .csv (not encrypted), import it, then delete it", ErrFormat)
	}
	folders := map[string]string{}
	for _, f := range append(x.Folders, x.Collections...) {
		folders[f.ID] = f.Name
	}
	var entries []Entry
	noOTP := 0
	for _, it := range x.Items {
		if it.Type != 1 || it.Login == nil {
			continue // notes, cards, identities, SSH keys
		}
		if strings.TrimSpace(it.Login.TOTP) == "" {
			noOTP++
			continue
		}
		e := otpField(it.Login.TOTP, it.Name, it.Login.Username)
		if f := folders[it.FolderID]; f != "" {
			e.Tags = append(e.Tags, f)
		}
		for _, id := range it.CollectionIDs {
			if f := folders[id]; f != "" {
				e.Tags = append(e.Tags, f)
			}
		}
		entries = append(entries, e)
		if len(entries) > MaxEntries {
			return nil, 0, tooMany()
		}
	}
	return entries, noOTP, nil
}

func parseBitwardenCSV(data []byte) ([]Entry, int, error) {
	rows, err := readCSV(data, "bitwarden")
	if err != nil {
		return nil, 0, err
	}
	var entries []Entry
	noOTP := 0
	for _, r := range rows {
		if t := strings.ToLower(r["type"]); t != "login" && t != "1" {
			continue
		}
		if strings.TrimSpace(r["login_totp"]) == "" {
			noOTP++
			continue
		}
		e := otpField(r["login_totp"], r["name"], r["login_username"])
		if f := strings.TrimSpace(r["folder"]); f != "" {
			e.Tags = []string{f}
		}
		entries = append(entries, e)
		if len(entries) > MaxEntries {
			return nil, 0, tooMany()
		}
	}
	return entries, noOTP, nil
}
