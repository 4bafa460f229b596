//go:build gui

package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/ui"
)

// qrSize is the QR code's side in pixels.
const qrSize = 220

// invitePanel makes invite codes: pick a network and options, get a code
// to copy (a selectable label) and a QR code to scan.
type invitePanel struct {
	app fyne.App
	ctl *ui.Controller

	network  *widget.Select
	reusable *widget.Check
	approval *widget.Check
	make     *widget.Button
	msg      *widget.Label
	code     *widget.Label
	copy     *widget.Button
	qr       *canvas.Image
	result   *fyne.Container
	card     *widget.Card
}

func newInvitePanel(a fyne.App, ctl *ui.Controller) *invitePanel {
	p := &invitePanel{app: a, ctl: ctl}
	p.network = widget.NewSelect(nil, nil)
	p.network.PlaceHolder = "Network"
	p.reusable = widget.NewCheck("Reusable (for a fleet)", nil)
	p.approval = widget.NewCheck("Needs my approval (the code carries no secret)", nil)
	p.make = widget.NewButtonWithIcon("Create code", theme.MailSendIcon(), func() { p.start(p.network.Selected) })
	p.msg = widget.NewLabel("")
	p.msg.Wrapping = fyne.TextWrapWord
	p.code = widget.NewLabel("")
	p.code.Selectable = true
	p.code.Wrapping = fyne.TextWrapBreak
	p.copy = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), func() {
		Copy(a, "The invite code", p.code.Text)
	})
	p.qr = canvas.NewImageFromImage(nil)
	p.qr.FillMode = canvas.ImageFillContain
	p.qr.ScaleMode = canvas.ImageScalePixels
	p.qr.SetMinSize(fyne.NewSize(qrSize, qrSize))
	p.result = container.NewBorder(nil, nil, nil, container.NewVBox(p.qr),
		container.NewVBox(p.code, container.NewHBox(p.copy)))
	p.result.Hide()
	p.card = widget.NewCard("Invite a device", "", container.NewVBox(
		container.NewHBox(p.network, p.make), p.reusable, p.approval, p.msg, p.result))
	return p
}

// setNetworks offers the networks this node administers.
func (p *invitePanel) setNetworks(nets []apitype.Network) {
	var names []string
	for _, n := range nets {
		if n.Admin {
			names = append(names, n.Name)
		}
	}
	p.network.SetOptions(names)
	if len(names) == 1 && p.network.Selected == "" {
		p.network.SetSelected(names[0])
	}
	if len(names) == 0 {
		p.card.Hide()
	} else {
		p.card.Show()
	}
}

// start asks the daemon for a code for network.
func (p *invitePanel) start(network string) {
	if network == "" {
		p.msg.SetText("Pick a network first.")
		return
	}
	if p.network.Selected != network {
		p.network.SetSelected(network)
	}
	p.make.Disable()
	p.result.Hide()
	p.msg.SetText("Creating an invite code for " + network + "…")
	p.ctl.Invite(apitype.InviteRequest{Network: network, Reusable: p.reusable.Checked, Approval: p.approval.Checked},
		func(r apitype.InviteResponse, err error) {
			p.make.Enable()
			if err != nil {
				p.msg.SetText(err.Error())
				return
			}
			p.show(r)
		})
}

func (p *invitePanel) show(r apitype.InviteResponse) {
	text := "Invite code for " + r.Network
	switch {
	case r.Approval:
		text += " (you approve each join)"
	case r.Reusable:
		text += " (reusable)"
	default:
		text += " (single use)"
	}
	if !r.Expires.IsZero() {
		text += ", expires " + r.Expires.Local().Format("Jan 2 2006 15:04 MST")
	}
	p.msg.SetText(text + ". Paste it into rayfish on the other device, or scan the QR code.")
	p.code.SetText(r.Code)
	if q, err := qrcode.New(r.Code, qrcode.Medium); err == nil {
		p.qr.Image = q.Image(qrSize)
		p.qr.Show()
	} else {
		p.qr.Image = nil
		p.qr.Hide()
	}
	p.qr.Refresh()
	p.result.Show()
}
