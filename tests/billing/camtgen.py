"""Builds camt.054.001.08 files as a Swiss bank sends them, for tests."""

from datetime import date


def camt054(msg_id: str, txs: list[dict]) -> bytes:
    """txs: dicts with ref (AcctSvcrRef), amount (centimes), reference (QRR/SCOR or None), day, debtor,
    and optionally credit=False or booked=False."""
    entries = []
    for tx in txs:
        amt = f"{tx['amount'] // 100}.{tx['amount'] % 100:02d}"
        ind = "CRDT" if tx.get("credit", True) else "DBIT"
        sts = "BOOK" if tx.get("booked", True) else "PDNG"
        rmt = (
            f"<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>QRR</Prtry></CdOrPrtry></Tp>"
            f"<Ref>{tx['reference']}</Ref></CdtrRefInf></Strd></RmtInf>"
            if tx.get("reference")
            else f"<RmtInf><Ustrd>{tx.get('text', 'paiement facture')}</Ustrd></RmtInf>"
        )
        ccy = tx.get("ccy", "CHF")
        day: date = tx["day"]
        entries.append(f"""
      <Ntry>
        <Amt Ccy="{ccy}">{amt}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts><Cd>{sts}</Cd></Sts>
        <BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><ValDt><Dt>{day.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>E-{tx["ref"]}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>VCOM</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>{tx["ref"]}</AcctSvcrRef></Refs>
          <Amt Ccy="{ccy}">{amt}</Amt><CdtDbtInd>{ind}</CdtDbtInd>
          <RltdPties><Dbtr><Pty><Nm>{tx.get("debtor", "Client")}</Nm></Pty></Dbtr></RltdPties>
          {rmt}
        </TxDtls></NtryDtls>
      </Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>2024-01-01T06:00:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>{msg_id}-1</Id>
      <Acct><Id><IBAN>CH4431999123000889012</IBAN></Id></Acct>{"".join(entries)}
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>""".encode()
