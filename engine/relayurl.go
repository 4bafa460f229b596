package engine

import (
	"fmt"
	"net/url"
)

func validRelayURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("relay %q is not an http:// or https:// URL", s)
	}
	return nil
}
