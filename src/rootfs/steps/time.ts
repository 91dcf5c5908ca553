/** The one timestamp every generated file gets (apko's "build date epoch"), never the wall clock. */
import { LadingError } from '../../util/errors.ts';

export interface BuildDateInputs {
  /** The SOURCE_DATE_EPOCH environment variable as given (wins over everything when set and non-empty). */
  sourceDateEpoch?: string;
  /** `--build-date`, unix seconds (default 0). */
  buildDate?: number;
  /** `t:` build times of the installed packages. */
  packageBuildTimes?: Iterable<number | undefined>;
}

/** SOURCE_DATE_EPOCH when set, else the newest of --build-date and the packages' build times. */
export function buildDateEpoch(inputs: BuildDateInputs): number {
  const sde = inputs.sourceDateEpoch?.trim();
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde) || !Number.isSafeInteger(Number(sde))) {
      throw new LadingError(
        'BAD_SOURCE_DATE_EPOCH',
        `SOURCE_DATE_EPOCH=${JSON.stringify(sde)} is not a unix time`,
        {
          hint: 'set it to a whole number of seconds since 1970-01-01 (e.g. `git log -1 --format=%ct`), or unset it',
        },
      );
    }
    return Number(sde);
  }
  let newest = inputs.buildDate ?? 0;
  for (const t of inputs.packageBuildTimes ?? []) if (t !== undefined && t > newest) newest = t;
  return newest;
}
