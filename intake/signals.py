"""What intake tells the apps above it, without importing them.

`intake_decided` is sent when a person accepts, rejects or withdraws an intake outside the council
(on the intake page or through the API), inside the transaction of that write: a receiver's writes
commit or roll back with it. The council's own decisions do not send it (the council closes its
item itself). Council connects to it at ready() to take the intake off its agendas.

Arguments: `intake` (the IntakeRequest, already moved), `actor` (the user), `outcome`
("accepted", "rejected" or "withdrawn").
"""

from django.dispatch import Signal

intake_decided = Signal()
