import { enumProblem } from '../core/values';
import { destinationProblem } from '../node-agent/destinations';
import { InstallerArtifact } from '../node-agent/setup-spec';

/** The CPU architecture an artifact is built for. */
export enum CpuArchitecture {
  /** x86-64 (`uname -m`: x86_64). */
  AMD64 = 'amd64',
  /** 64-bit Arm (`uname -m`: aarch64). */
  ARM64 = 'arm64',
  /** Any architecture (scripts, configs, multi-arch images). */
  ANY = 'any',
}

/** Options for an artifact copied from a container image. */
export interface ImageArtifactOptions {
  /** Absolute host path to install to (a file, or a directory for a tree). */
  readonly destination: string;
  /** The architecture it is for. @default CpuArchitecture.ANY (multi-arch images pick their own) */
  readonly architecture?: CpuArchitecture;
}

/** Options for an artifact downloaded from a URL. */
export interface UrlArtifactOptions {
  /** Absolute host path to install the file to. */
  readonly destination: string;
  /** The architecture it is for. @default CpuArchitecture.ANY */
  readonly architecture?: CpuArchitecture;
}

/** Options for an artifact the nodes already have. */
export interface PreinstalledArtifactOptions {
  /** The architecture it is for. @default CpuArchitecture.ANY */
  readonly architecture?: CpuArchitecture;
}

/**
 * A runtime's files (binaries, configuration) and where the node setup gets them.
 */
export class RuntimeArtifacts {
  /**
   * Files inside a container image, copied by an init container (the image needs `sh` and
   * `cp`) and installed by the node setup.
   * @param image the image, ideally pinned by digest (`repo@sha256:...`)
   * @param path absolute path of the file or directory inside the image
   */
  public static fromImage(image: string, path: string, options: ImageArtifactOptions): RuntimeArtifacts {
    return new RuntimeArtifacts('image', path, options.destination, options.architecture ?? CpuArchitecture.ANY, image, undefined);
  }

  /**
   * A file downloaded by the node setup and checked against its sha512 before it is installed.
   * @param url `https://` URL of the file
   * @param sha512 its sha512, 128 hex digits
   */
  public static fromUrl(url: string, sha512: string, options: UrlArtifactOptions): RuntimeArtifacts {
    return new RuntimeArtifacts('url', url, options.destination, options.architecture ?? CpuArchitecture.ANY, undefined, sha512);
  }

  /**
   * A file the nodes already have (from the node image or a distribution package): the node
   * setup only checks that it exists and is not labelled ready without it.
   * @param path absolute path on the node
   */
  public static preinstalled(path: string, options: PreinstalledArtifactOptions = {}): RuntimeArtifacts {
    return new RuntimeArtifacts('preinstalled', path, undefined, options.architecture ?? CpuArchitecture.ANY, undefined, undefined);
  }

  private constructor(
    /** `image`, `url` or `preinstalled`. @internal */
    public readonly _source: 'image' | 'url' | 'preinstalled',
    /** Path in the image, URL, or host path. */
    public readonly location: string,
    /** Host path it is installed to. */
    public readonly destination: string | undefined,
    /** The architecture it is for. */
    public readonly architecture: CpuArchitecture,
    /** The image, for image artifacts. */
    public readonly image: string | undefined,
    /** The expected sha512, for URL artifacts. */
    public readonly sha512: string | undefined,
  ) {}

  /** Problems with this artifact, for validation messages. @internal */
  public _problems(): string[] {
    const problems: string[] = [];
    const what = `${this._source} artifact "${this.location}"`;
    const wrongArchitecture = enumProblem(CpuArchitecture, this.architecture, 'architecture', 'CpuArchitecture');
    if (wrongArchitecture) problems.push(`${what}: ${wrongArchitecture}`);
    if (this.destination !== undefined) {
      // An image artifact may be a whole directory: it is held to the rule for directories.
      const problem = destinationProblem(this.destination, this._source === 'image');
      if (problem) problems.push(`${what}: destination "${this.destination}" ${problem}`);
    }
    if (/[\t\n\r]/.test(this.location + (this.destination ?? '') + (this.image ?? ''))) {
      problems.push(`${what}: paths, URLs and images may not contain tabs or newlines`);
    }
    switch (this._source) {
      case 'image':
        if (!this.location.startsWith('/')) problems.push(`${what}: the path inside image "${this.image}" must be absolute`);
        if (!this.image || /\s/.test(this.image)) problems.push(`${what}: image "${this.image}" is not an image reference`);
        break;
      case 'url':
        if (!/^https:\/\/[^\s]+$/.test(this.location)) problems.push(`${what}: only https:// URLs are accepted (the download is checked by sha512, but should not be readable in transit either)`);
        if (!/^[0-9a-f]{128}$/.test(this.sha512 ?? '')) problems.push(`${what}: sha512 "${this.sha512}" must be 128 lowercase hex digits (\`sha512sum <file>\`)`);
        break;
      case 'preinstalled':
        if (!this.location.startsWith('/')) problems.push(`${what}: the path must be absolute on the node`);
        break;
    }
    return problems;
  }

  /** The installer's view of this artifact; `imageSlot` is its directory under the artifact volume. @internal */
  public _toInstaller(imageSlot: string | undefined): InstallerArtifact {
    return {
      arch: this.architecture,
      source: this._source,
      location: this._source === 'image' ? imageSlot! : this.location,
      sha512: this.sha512,
      destination: this.destination,
    };
  }
}
