package cas

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
)

// NewGCSClient returns a Cloud Storage client. With an empty endpoint it
// is the real service with Application Default Credentials (a service
// account key, workload identity, or gcloud's login). A non-empty endpoint
// is an emulator's base URL (http://HOST:PORT, as fake-gcs-server and
// STORAGE_EMULATOR_HOST have it): requests then go there unauthenticated,
// and reads use the JSON API, which emulators implement, rather than the
// XML API that they route by host name.
func NewGCSClient(ctx context.Context, endpoint string) (*storage.Client, error) {
	if endpoint == "" {
		c, err := storage.NewClient(ctx)
		if err != nil {
			return nil, fmt.Errorf("connecting to GCS: %w", err)
		}
		return c, nil
	}
	api, err := gcsEmulatorAPI(endpoint)
	if err != nil {
		return nil, err
	}
	c, err := storage.NewClient(ctx, option.WithEndpoint(api), option.WithoutAuthentication(), storage.WithJSONReads())
	if err != nil {
		return nil, fmt.Errorf("connecting to the GCS emulator at %s: %w", endpoint, err)
	}
	return c, nil
}

// gcsEmulatorAPI turns an emulator's base URL into the JSON API endpoint
// the client wants; a URL that names a path already is taken as it is.
func gcsEmulatorAPI(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("GCS endpoint %q is not an http:// or https:// URL", endpoint)
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/storage/v1/"
	}
	return u.String(), nil
}
