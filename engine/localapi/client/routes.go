package client

import (
	"context"
	"net/http"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// Advertise changes this node's exit node and subnet route offers.
func (c *Client) Advertise(ctx context.Context, req apitype.AdvertiseRequest) (apitype.Offer, error) {
	var r apitype.Offer
	return r, c.do(ctx, http.MethodPost, apitype.PathAdvertise, req, &r)
}

// Routes lists a network's offers and approvals.
func (c *Client) Routes(ctx context.Context, network string) (apitype.NetworkRoutes, error) {
	var r apitype.NetworkRoutes
	return r, c.do(ctx, http.MethodPost, apitype.PathRoutes, apitype.NetworkRequest{Network: network}, &r)
}

// ApproveRoute approves or withdraws a member's offer (admin only).
func (c *Client) ApproveRoute(ctx context.Context, req apitype.ApproveRequest) (apitype.RemoveResponse, error) {
	var r apitype.RemoveResponse
	return r, c.do(ctx, http.MethodPost, apitype.PathRouteApprove, req, &r)
}

// AcceptRoutes turns the use of members' approved subnet routes on or off.
func (c *Client) AcceptRoutes(ctx context.Context, accept bool) error {
	return c.do(ctx, http.MethodPost, apitype.PathRoutesAccept, apitype.AcceptRoutesRequest{Accept: accept}, nil)
}

// ExitNodes lists the peers that offer to be an exit node.
func (c *Client) ExitNodes(ctx context.Context) ([]apitype.ExitNodeInfo, error) {
	var r []apitype.ExitNodeInfo
	return r, c.do(ctx, http.MethodGet, apitype.PathExitNodes, nil, &r)
}

// UseExitNode selects an exit node ("" turns it off).
func (c *Client) UseExitNode(ctx context.Context, req apitype.ExitNodeRequest) (*apitype.ExitNode, error) {
	var r *apitype.ExitNode
	return r, c.do(ctx, http.MethodPost, apitype.PathExitNode, req, &r)
}
