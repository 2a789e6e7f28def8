package store

import (
	"github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"
)

// Users lists the username attribute of every item of service in the
// default collection, through go-keyring's own Secret Service client
// (go-keyring itself has no call for it). For `store doctor`.
func (k osKeyring) Users(service string) ([]string, error) {
	return within(k.timeout, func() ([]string, error) {
		svc, err := ss.NewSecretService()
		if err != nil {
			return nil, err
		}
		coll := svc.GetLoginCollection()
		if err := svc.Unlock(coll.Path()); err != nil {
			return nil, err
		}
		paths, err := svc.SearchItems(coll, map[string]string{"service": service})
		if err != nil {
			return nil, err
		}
		users := make([]string, 0, len(paths))
		for _, p := range paths {
			v, err := svc.Object("org.freedesktop.secrets", p).GetProperty("org.freedesktop.Secret.Item.Attributes")
			if err != nil {
				return nil, err
			}
			var attrs map[string]string
			if err := dbus.Store([]any{v.Value()}, &attrs); err != nil {
				return nil, err
			}
			if u, ok := attrs["username"]; ok {
				users = append(users, u)
			}
		}
		return users, nil
	})
}
