// An exact Decimal from the API, shown rounded for reading; the exact figure stays in the element's value.

const formats = new Map<string, Intl.NumberFormat>();

function formatOf(currency: string): Intl.NumberFormat {
  let format = formats.get(currency);
  if (!format) {
    // Costs are often fractions of a cent: four places, not the currency's two.
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 4 });
    formats.set(currency, format);
  }
  return format;
}

export function Money({ amount, currency }: { amount: string; currency: string }) {
  return (
    <data value={amount} title={`${amount} ${currency}`}>
      {formatOf(currency).format(Number(amount))}
    </data>
  );
}
