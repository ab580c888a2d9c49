export class StoreError extends Error {
  readonly code: string = 'STORE_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

function defineError(name: string, code: string) {
  return class extends StoreError {
    override readonly code = code;
    constructor(message: string, options?: { cause?: unknown }) {
      super(message, options);
      this.name = name;
    }
  };
}

export const NotFoundError = defineError('NotFoundError', 'NOT_FOUND');
export const AlreadyExistsError = defineError('AlreadyExistsError', 'ALREADY_EXISTS');
export const DomainNotEmptyError = defineError('DomainNotEmptyError', 'DOMAIN_NOT_EMPTY');
export const InvalidNameError = defineError('InvalidNameError', 'INVALID_NAME');
export const ConflictError = defineError('ConflictError', 'CONFLICT');
export const LimitError = defineError('LimitError', 'LIMIT');
/** A value that is not a name but is still malformed: a flag, a route action, a UID, a message field. */
export const InvalidArgumentError = defineError('InvalidArgumentError', 'INVALID_ARGUMENT');
